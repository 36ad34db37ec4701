import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { testRandom } from '../geo/fixtures/random-walk-graph.ts';
import { acceptsGzip, GzipCache, ifNoneMatchMatches, TileCache, tileEtag } from './tile-encoding.ts';

describe('tile encoding', () => {
  it('acceptsGzip: gzip or x-gzip by name, or *, with a q-value above 0', () => {
    expect(acceptsGzip('GZIP;Q=0.1')).toBe(true);
    expect(acceptsGzip('gzip;q=0.0')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('br, x-gzip')).toBe(true);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('gzip;q=0, *')).toBe(false);
    expect(acceptsGzip('identity, *;q=0')).toBe(false);
    expect(acceptsGzip('gzip;q=abc')).toBe(false);
  });

  it('TileCache keeps the most recently used tiles within its byte bound; a tile larger than the bound is not kept', () => {
    const cache = new TileCache(3000);
    const [a, b, c] = [Buffer.alloc(1200, 1), Buffer.alloc(1200, 2), Buffer.alloc(1200, 3)];
    cache.set('a', a);
    cache.set('b', b);
    expect(cache.get('a')).toBe(a); // a now most recent
    cache.set('c', c); // over 3000 bytes: b goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(a);
    expect(cache.get('c')).toBe(c);
    expect(cache.size).toEqual({ entries: 2, bytes: 2400 });
    cache.set('big', Buffer.alloc(3001));
    expect(cache.get('big')).toBeUndefined();
    expect(cache.size.entries).toBe(2);
  });

  it('GzipCache keeps the most recently used compressed tiles within its byte bound', async () => {
    const random = testRandom(3);
    const tile = () => Buffer.from(Array.from({ length: 1200 }, () => random.int(0, 255))); // incompressible: ~1.2 kB zipped
    const cache = new GzipCache(3000);
    const [a, b, c] = [tile(), tile(), tile()];
    expect(zlib.gunzipSync(await cache.get('a', a)).equals(a)).toBe(true);
    await cache.get('b', b);
    expect(cache.size.entries).toBe(2);
    const aAgain = await cache.get('a', Buffer.from('ignored on a hit'));
    expect(zlib.gunzipSync(aAgain).equals(a)).toBe(true); // a hit: the cached bytes, a now most recent
    await cache.get('c', c); // over 3000 bytes: b, the least recently used, goes
    expect(cache.size.entries).toBe(2);
    expect(cache.size.bytes).toBeLessThanOrEqual(3000);
    expect(zlib.gunzipSync(await cache.get('b', b)).equals(b)).toBe(true); // compressed again; a, now the oldest, goes
    expect(zlib.gunzipSync(await cache.get('c', Buffer.from('x'))).equals(c)).toBe(true); // still cached
    expect(zlib.gunzipSync(await cache.get('a', Buffer.from('x'))).toString()).toBe('x'); // evicted: made afresh
  });

  it('tileEtag is a strong tag of the bytes; If-None-Match compares weakly and takes lists and *', () => {
    const etag = tileEtag(Buffer.from('tile'));
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(tileEtag(Buffer.from('tile'))).toBe(etag);
    expect(tileEtag(Buffer.from('tile2'))).not.toBe(etag);
    expect(ifNoneMatchMatches(etag, etag)).toBe(true);
    expect(ifNoneMatchMatches(`W/${etag}`, etag)).toBe(true);
    expect(ifNoneMatchMatches(`"other", ${etag}`, etag)).toBe(true);
    expect(ifNoneMatchMatches('*', etag)).toBe(true);
    expect(ifNoneMatchMatches('"other"', etag)).toBe(false);
    expect(ifNoneMatchMatches(undefined, etag)).toBe(false);
  });
});
