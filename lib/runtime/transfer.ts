/** Which buffers may move to another thread without a copy. */

/** ArrayBuffers behind typed arrays, once each: what postMessage can hand over without copying. */
export function buffersOf(views: ReadonlyArray<unknown>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) if (ArrayBuffer.isView(view) && view.buffer instanceof ArrayBuffer) buffers.add(view.buffer);
  return [...buffers];
}

/**
 * True when a view spans its ArrayBuffer (up to 8 bytes of alignment padding at the front): the
 * buffer belongs to this one body or tensor, not to a pool shared with other data, so handing it
 * to another thread cannot take anything else with it.
 */
export function ownsBuffer(view: ArrayBufferView): boolean {
  if (!(view.buffer instanceof ArrayBuffer)) return false;
  return dedicated.has(view.buffer) || (view.byteOffset < 8 && view.byteOffset + view.byteLength === view.buffer.byteLength);
}

/** Buffers allocated for one request body: views anywhere inside them may move the whole buffer. */
const dedicated = new WeakSet<ArrayBuffer>();

export function dedicate<T extends ArrayBufferView>(view: T): T {
  if (view.buffer instanceof ArrayBuffer) dedicated.add(view.buffer);
  return view;
}
