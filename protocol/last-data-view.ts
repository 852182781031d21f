/**
 * The DataView of the last buffer asked for. Code that scans input line after line in one buffer
 * reads it four bytes at a time through a DataView (Int32Array needs aligned offsets, and four
 * byte loads cost more); making a DataView per line would cost more than the reads it saves.
 */
export class LastDataView {
  private bytes: Uint8Array | undefined;
  private view: DataView = new DataView(new ArrayBuffer(0));

  /** A DataView of `bytes` (over the same memory), reused while `bytes` is the same buffer. */
  of(bytes: Uint8Array): DataView {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.view;
  }
}
