/** Reading REST request bodies (limits, gzip, alignment for binary tensors) and the encodings responses may use. */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InferenceError, badRequest } from '../errors.js';
import { dedicate } from '../transfer.js';

/** The request's Content-Encoding: identity or gzip; anything else is a 415 naming what is accepted. */
export function contentEncoding(req: IncomingMessage): 'identity' | 'gzip' {
  const raw = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (raw === '' || raw === 'identity') return 'identity';
  if (raw === 'gzip' || raw === 'x-gzip') return 'gzip';
  throw new InferenceError(415, `Content-Encoding ${JSON.stringify(raw.slice(0, 40))} is not supported: send the body as is, or gzip-compressed with Content-Encoding: gzip`);
}

/** Whether the client takes gzip (Accept-Encoding: gzip, not with q=0). */
export function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** Responses smaller than this go uncompressed: gzip's header and CPU cost more than they save. */
export const GZIP_MIN_BYTES = 1024;

/**
 * Reads the body into one buffer of its own (never a pooled slab, so it may move to a worker
 * thread), placing any binary tensor section at an 8-byte aligned offset. A gzip body is
 * inflated as it streams in (on libuv's thread pool), and the limit applies to the inflated size.
 */
export function readBody(req: IncomingMessage, limit: number, headerLength: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const encoding = contentEncoding(req);
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (declared !== undefined && declared > limit) {
      reject(new InferenceError(413, `request body is ${declared} bytes, over the limit of ${limit} bytes`));
      return;
    }
    // Typed-array views over binary tensors need element alignment; padding the front makes
    // the binary section start on an 8-byte boundary so views need no copy.
    const pad = headerLength === undefined ? 0 : (8 - (headerLength % 8)) % 8;
    // With a Content-Length, chunks land in place as they arrive: no second copy of a big body.
    const whole = declared === undefined || encoding === 'gzip' ? undefined : dedicate(Buffer.allocUnsafeSlow(pad + declared).subarray(pad));
    const source: Readable = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
    const chunks: Buffer[] = [];
    let received = 0;
    source.on('data', (chunk: Buffer) => {
      if (received + chunk.length > limit || (whole && received + chunk.length > whole.length)) {
        source.removeAllListeners('data');
        if (source !== req) source.destroy();
        req.pause();
        reject(new InferenceError(413, `request body is over the limit of ${limit} bytes${encoding === 'gzip' ? ' once inflated' : ''}`));
        return;
      }
      if (whole) whole.set(chunk, received);
      else chunks.push(chunk);
      received += chunk.length;
    });
    source.on('end', () => {
      if (whole) return resolve(received === whole.length ? whole : whole.subarray(0, received));
      const joined = dedicate(Buffer.allocUnsafeSlow(pad + received).subarray(pad));
      let offset = 0;
      for (const chunk of chunks) {
        joined.set(chunk, offset);
        offset += chunk.length;
      }
      resolve(joined);
    });
    if (source !== req) source.on('error', (err: Error) => reject(badRequest(`request body is not valid gzip (Content-Encoding: gzip): ${err.message}`)));
    // The client went away mid-body: not a server error. 499 is nginx's "client closed request".
    req.on('error', () => reject(new InferenceError(499, 'client closed the connection before sending the whole body')));
  });
}

export function parseHeaderLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['inference-header-content-length'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || !/^[0-9]{1,15}$/.test(value)) {
    throw badRequest(`Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

