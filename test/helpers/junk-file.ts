import crypto from 'node:crypto';
import fs from 'node:fs';

/** Write `bytes` of deterministic, incompressible junk (SHA-256 in counter mode) to `p`. */
export async function writeJunk(p: string, bytes: number): Promise<void> {
  const out = fs.createWriteStream(p);
  let counter = 0;
  for (let written = 0; written < bytes; written += 1 << 20) {
    const chunk = Buffer.alloc(1 << 20);
    for (let off = 0; off < chunk.length; off += 32)
      crypto.createHash('sha256').update(`junk-${counter++}`).digest().copy(chunk, off);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
