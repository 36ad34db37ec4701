/**
 * OSM id → dense index, in typed arrays (open addressing, linear probing). A JavaScript Map holds
 * at most 2^24 (16.7 M) entries and costs ~80 bytes each: a 20-million-node city overflows it
 * ("Map maximum size exceeded"). This table takes 12 bytes × capacity (capacity a power of two at
 * least 1.5 × the entries) and grows by doubling. Ids are non-negative integers below 2^53, as
 * OSM's are; index values are below 2^31.
 */
export class IdIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 1.5) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  private slot(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    return (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0) & this.mask;
  }

  get(id: number): number | undefined {
    const keys = this.keys;
    for (let s = this.slot(id); ; s = (s + 1) & this.mask) {
      const k = keys[s];
      if (k === id) return this.values[s];
      if (k === -1) return undefined;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: number): this {
    if (!(Number.isInteger(id) && id >= 0)) throw new Error(`IdIndex: id ${id} is not a non-negative integer`);
    if ((this.size + 1) * 1.5 > this.keys.length) this.grow();
    const keys = this.keys;
    for (let s = this.slot(id); ; s = (s + 1) & this.mask) {
      const k = keys[s];
      if (k === id) {
        this.values[s] = value;
        return this;
      }
      if (k === -1) {
        keys[s] = id;
        this.values[s] = value;
        this.size++;
        return this;
      }
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2).fill(-1);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let s = 0; s < oldKeys.length; s++) if (oldKeys[s] !== -1) this.set(oldKeys[s], oldValues[s]);
  }

  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (let s = 0; s < this.keys.length; s++) if (this.keys[s] !== -1) yield [this.keys[s], this.values[s]];
  }
}
