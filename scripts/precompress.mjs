#!/usr/bin/env node
// Writes `<file>.br` (Brotli, quality 11) and `<file>.gz` (gzip -9) beside each built file the
// browser downloads (wasm, JS, CSS, JSON) under the given folder (`target/site/pkg`), `make
// build`'s last step.
// The server's file service sends them as they are to a browser that accepts the encoding, instead
// of compressing every download again at a faster, weaker setting (the main module: 288 KB as
// Brotli compressed per request, 234 KB at quality 11). A compressed copy gets its source's
// modification time; at start-up the server deletes copies older than their source (a later build
// without this step) where it can (server/src/site.rs).
//
// Node rather than a package: the build already needs it (Binaryen's wasm-opt), and its zlib has
// both encoders. The work runs on libuv's thread pool, so both cores compress at once.
import { readdir, readFile, rename, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);
const COMPRESSIBLE = /\.(wasm|js|css|json)$/;

async function files(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else out.push(path);
  }
  return out;
}

async function compress(path) {
  const data = await readFile(path);
  const { mtime } = await stat(path);
  const encoded = [
    [
      ".br",
      await brotli(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }),
    ],
    [".gz", await gzip(data, { level: 9 })],
  ];
  let saved = 0;
  for (const [suffix, bytes] of encoded) {
    const target = path + suffix;
    if (bytes.length >= data.length) {
      // Not worth sending compressed: no copy, and none left from an earlier build.
      await unlink(target).catch(() => {});
      continue;
    }
    // Written whole under another name, then renamed: an interrupted run leaves no cut copy.
    const partial = `${target}.partial`;
    await writeFile(partial, bytes);
    await utimes(partial, mtime, mtime);
    await rename(partial, target);
    if (suffix === ".br") saved = data.length - bytes.length;
  }
  return saved;
}

const root = process.argv[2];
if (!root) {
  console.error("usage: node scripts/precompress.mjs <folder of built files, e.g. target/site/pkg>");
  process.exit(2);
}
const all = await files(root);
// Copies whose source is gone (a chunk an earlier build had) are removed, and any cut copy.
const sources = new Set(all);
const orphans = all.filter(
  (f) =>
    f.endsWith(".partial") ||
    (/\.(br|gz)$/.test(f) && COMPRESSIBLE.test(f.slice(0, -3)) && !sources.has(f.slice(0, -3))),
);
await Promise.all(orphans.map((f) => unlink(f)));
const targets = all.filter((f) => COMPRESSIBLE.test(f));
const started = Date.now();
const saved = (await Promise.all(targets.map(compress))).reduce((a, b) => a + b, 0);
console.log(
  `precompressed ${targets.length} files in ${root} (Brotli 11, gzip 9) in ${Date.now() - started} ms; ` +
    `Brotli saves ${saved.toLocaleString("en")} bytes; ${orphans.length} stale copies removed`,
);
