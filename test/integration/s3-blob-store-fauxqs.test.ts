// The S3 store against a real S3-compatible server (fauxqs, in-process on 127.0.0.1, random port):
// put, create-only conflict, get, paginated list, delete, blobStoreForUri's endpoint handling, and
// range reads of a COG (header, then one tile) through the S3 range reader.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../shared/adapters/aws/s3-blob-store.ts';
import { S3RangeReader } from '../../shared/adapters/aws/s3-range-reader.ts';
import { blobStoreForUri } from '../../shared/adapters/blob-store-for-uri.ts';
import { readCogInfo } from '../../shared/domain/cog-header.ts';
import { readRect } from '../../shared/domain/cog-tiles.ts';
import { AlreadyExistsError } from '../../shared/domain/errors.ts';
import { FAUXQS_CLIENT, type FauxqsServer, startFauxqsForTests } from '../helpers/fauxqs-server.ts';
import { buildTiff } from '../helpers/tiff-builder.ts';

let server: FauxqsServer | undefined;
let skipReason = '';

beforeAll(async () => {
  ({ server, skipReason } = await startFauxqsForTests('S3 integration tests'));
});
afterAll(async () => {
  await server?.stop();
});

function client(): S3Client {
  return new S3Client({
    endpoint: server!.address,
    forcePathStyle: true,
    ...FAUXQS_CLIENT,
  });
}

describe('S3BlobStore on fauxqs', () => {
  it('puts, gets, refuses a second create-only put, lists across pages, and deletes', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: 'datasets' }));
    const store = new S3BlobStore({ client: s3, bucket: 'datasets', prefix: 'runs/crops' });

    const shard = new Uint8Array(300_000).map((_, i) => i % 251);
    await store.put('train/crops-train-000000.tar', shard, {
      createOnly: true,
      contentType: 'application/x-tar',
    });
    const back = await store.get('train/crops-train-000000.tar');
    expect(back && Buffer.from(back).equals(Buffer.from(shard))).toBe(true);
    expect(await store.get('train/missing.tar')).toBeUndefined();
    expect(await store.exists('train/crops-train-000000.tar')).toBe(true);
    expect(await store.exists('train/missing.tar')).toBe(false);

    await expect(
      store.put('train/crops-train-000000.tar', new Uint8Array([1]), { createOnly: true }),
    ).rejects.toThrow(AlreadyExistsError);
    expect((await store.get('train/crops-train-000000.tar'))?.byteLength).toBe(shard.byteLength);

    // More than one ListObjectsV2 page (1000 keys a page).
    const keys = Array.from({ length: 1005 }, (_, i) => `results/${String(i).padStart(5, '0')}.json`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, `{"i":"${k}"}`)));
    }
    expect(await store.list('results/')).toEqual(keys);
    expect(await store.list('train/')).toEqual(['train/crops-train-000000.tar']);
    // Keys outside the store's prefix stay invisible.
    const other = new S3BlobStore({ client: s3, bucket: 'datasets', prefix: 'runs/crops-other' });
    await other.put('x.json', '{}');
    expect(await store.list('')).toHaveLength(1006);

    await store.delete('train/crops-train-000000.tar');
    await store.delete('train/crops-train-000000.tar');
    expect(await store.get('train/crops-train-000000.tar')).toBeUndefined();
    s3.destroy();
  });

  it('is what blobStoreForUri opens for s3:// with AWS_ENDPOINT_URL_S3 set', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: 'from-uri' }));
    s3.destroy();
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    process.env['AWS_ACCESS_KEY_ID'] = 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
    try {
      const store = blobStoreForUri('s3://from-uri/ds', undefined, {
        env: { AWS_ENDPOINT_URL_S3: server.address },
      });
      expect(store.uri).toBe('s3://from-uri/ds');
      await store.put('manifest.json', '{"ok":true}', { createOnly: true });
      await expect(store.put('manifest.json', '{}', { createOnly: true })).rejects.toThrow(
        AlreadyExistsError,
      );
      expect(Buffer.from((await store.get('manifest.json'))!).toString()).toBe('{"ok":true}');
      expect(await store.list('')).toEqual(['manifest.json']);
    } finally {
      for (const [k, v] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('reads a COG in S3 with range requests: the header, then only the tiles a window needs', async (ctx) => {
    if (!server) return ctx.skip(skipReason);
    const s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: 'cogs' }));
    const n = 512;
    const data = new Uint16Array(n * n).map((_, i) => (i * 7919) % 65_000);
    const tiff = buildTiff([
      {
        width: n,
        height: n,
        data,
        tileWidth: 128,
        tileHeight: 128,
        compression: 8,
        predictor: 2,
        geo: { originX: 500_000, originY: 5_000_000, resX: 10, resY: 10, epsg: 32633 },
      },
    ]);
    await s3.send(new PutObjectCommand({ Bucket: 'cogs', Key: 'scene/B04.tif', Body: tiff }));
    const reader = new S3RangeReader({ client: s3 });
    const url = 's3://cogs/scene/B04.tif';

    expect(await reader.read(url, 1000, 17)).toEqual(tiff.subarray(1000, 1017));
    const cog = await readCogInfo(reader, url);
    expect([cog.width, cog.tileWidth, cog.epsg]).toEqual([n, 128, 32633]);
    const before = { ...reader.stats };
    // A 24 px window inside one 128 px tile: one request, exactly that tile's bytes.
    const rect = { x: 130, y: 260, width: 24, height: 24 };
    const pixels = (await readRect(reader, cog, rect)) as Uint16Array;
    expect(reader.stats.requests - before.requests).toBe(1);
    expect(reader.stats.bytes - before.bytes).toBe(cog.tileByteCounts[2 * 4 + 1]);
    for (let r = 0; r < 24; r++)
      for (let c = 0; c < 24; c++) expect(pixels[r * 24 + c]).toBe(data[(rect.y + r) * n + rect.x + c]);
    s3.destroy();
  });
});
