// What a document database gives a custom store: versioned reads and
// conditional writes (compare-and-set), and an in-memory stand-in for one.
// custom-store.ts builds an MFAStore on this interface.

/** What the store needs from the database: versioned reads and conditional writes. */
export interface VersionedDocuments {
  /** Reads a document and its version, or `null` if there is none. */
  get(key: string): Promise<{ value: string; version: number } | null>;
  /**
   * Writes `value` only if the document's version is still `expected` (`null`:
   * only if it does not exist). Returns whether it was written.
   */
  put(key: string, value: string, expected: number | null): Promise<boolean>;
}

/**
 * An in-memory stand-in for the database. Each call yields to the event loop
 * first, like a network round trip, so concurrent operations really interleave
 * between the read and the write.
 */
export class InMemoryDocuments implements VersionedDocuments {
  readonly #docs = new Map<string, { value: string; version: number }>();

  async get(key: string): Promise<{ value: string; version: number } | null> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.#docs.get(key) ?? null;
  }

  async put(key: string, value: string, expected: number | null): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    const current = this.#docs.get(key);
    if ((current?.version ?? null) !== expected) return false;
    this.#docs.set(key, { value, version: (current?.version ?? 0) + 1 });
    return true;
  }
}
