// The gRPC .proto slipway serves must be the Open Inference Protocol's, field for field, so any
// OIP client (KServe's, Triton's, generated from the official file) talks to it.
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';

const OURS = new URL('../../proto/grpc_predict_v2.proto', import.meta.url).pathname;
// specification/protocol/open_inference_grpc.proto of github.com/kserve/open-inference-protocol
// at d49cc23f89d709d87b210ef9449e273ae243984e (Apache-2.0), committed unchanged.
const OFFICIAL = new URL('../fixtures/upstream/open_inference_grpc.proto', import.meta.url).pathname;

interface Field { name: string; number: number; label: string; type: string; typeName: string; oneofIndex?: number; proto3Optional?: boolean }
interface Message { field: Field[]; nestedType: Message[]; name: string; oneofDecl: { name: string }[]; options?: { mapEntry?: boolean } }

/** Every message (nested ones by their full name) as its fields, and every method as its signature. */
function shape(file: string): Record<string, unknown> {
  const definition = protoLoader.loadSync(file, { keepCase: true });
  const out: Record<string, unknown> = {};
  const visit = (prefix: string, m: Message) => {
    out[`${prefix}${m.name}`] = {
      fields: m.field.map((f) => `${f.number} ${f.label} ${f.type}${f.typeName ? ` ${f.typeName}` : ''} ${f.name}${f.proto3Optional ? ' optional' : ''}`),
      oneofs: m.oneofDecl.map((o) => o.name),
      mapEntry: m.options?.mapEntry ?? false,
    };
    for (const nested of m.nestedType) visit(`${prefix}${m.name}.`, nested);
  };
  for (const [name, entry] of Object.entries(definition)) {
    if ('type' in entry && (entry as { format?: string }).format === 'Protocol Buffer 3 DescriptorProto') {
      if (!name.includes('.', 'inference.'.length)) visit('inference.', entry.type as Message);
    } else if (!('type' in entry)) {
      for (const [method, m] of Object.entries(entry as Record<string, { requestType: { type: { name: string } }; responseType: { type: { name: string } }; requestStream: boolean; responseStream: boolean; path: string }>)) {
        out[`${name}/${method}`] = `${m.path} ${m.requestStream ? 'stream ' : ''}${m.requestType.type.name} -> ${m.responseStream ? 'stream ' : ''}${m.responseType.type.name}`;
      }
    }
  }
  return out;
}

describe('proto/grpc_predict_v2.proto', () => {
  it('declares the Open Inference Protocol gRPC API field for field (messages, nested messages, maps, oneofs, methods), plus only Triton\'s extension RPCs', () => {
    const official = shape(OFFICIAL);
    // The comparison covers the whole API, not a few names.
    expect(Object.keys(official).length).toBeGreaterThan(20);
    expect(official['inference.ModelMetadataResponse']).toMatchObject({ fields: expect.arrayContaining([expect.stringMatching(/^6 LABEL_REPEATED TYPE_MESSAGE \S+ properties$/)]) });
    const ours = shape(OURS);
    const shared = Object.fromEntries(Object.keys(official).map((key) => [key, ours[key]]));
    expect(shared).toEqual(official);
    // Beyond the OIP, only Triton's extension RPCs (streaming, repository, statistics), declared
    // in the same service with Triton's field numbers so Triton's clients reach them too.
    const extensions = Object.keys(ours).filter((key) => !(key in official));
    expect(extensions.filter((key) => key.includes('/')).sort()).toEqual([
      'inference.GRPCInferenceService/ModelStatistics',
      'inference.GRPCInferenceService/ModelStreamInfer',
      'inference.GRPCInferenceService/RepositoryIndex',
      'inference.GRPCInferenceService/RepositoryModelLoad',
      'inference.GRPCInferenceService/RepositoryModelUnload',
    ]);
    expect(extensions.filter((key) => !key.includes('/')).sort()).toEqual(
      [
        'InferBatchStatistics', 'InferStatistics', 'ModelRepositoryParameter', 'ModelStatistics', 'ModelStatisticsRequest',
        'ModelStatisticsResponse', 'ModelStreamInferResponse', 'RepositoryIndexRequest', 'RepositoryIndexResponse',
        'RepositoryIndexResponse.ModelIndex', 'RepositoryModelLoadRequest', 'RepositoryModelLoadRequest.Parameters', 'RepositoryModelLoadResponse',
        'RepositoryModelUnloadRequest', 'RepositoryModelUnloadRequest.Parameters', 'RepositoryModelUnloadResponse', 'StatisticDuration',
      ].map((name) => `inference.${name}`).sort(),
    );
  });
});
