// No absolute local path in a dataset: a dataset is copied (pull, S3 sync) and shared, and a path of
// the machine that made it is meaningless elsewhere and leaks its folder layout. Every local path a
// run knows (the dataset's folder, its work folder, the static catalog, the label file) and every
// file:// URL is written relative to the dataset's root (e.g. "../scenes/S2A_.../B02.tif") when the
// dataset is a local folder, so it still resolves next to the dataset; when the dataset is remote
// (s3://, https://) a local path cannot be relative to it and becomes "local:<path below the
// folder of the input it belongs to>" (the file existed on the machine that ran the job). Remote
// URLs (https://, s3://) stay as the catalog gave them.
import path from 'node:path';

export type PortablePaths = {
  /** Rewrites every local path in a string. */
  text: (s: string) => string;
  /** Rewrites every string of a JSON value (keys included), returning a new value. */
  value: <T>(v: T) => T;
};

const isUri = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** The absolute local path a file:// URL or an absolute path names, or undefined for anything else. */
export function localPathOf(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  if (s.startsWith('file://')) {
    try {
      return path.posix.normalize(decodeURIComponent(new URL(s).pathname));
    } catch {
      return undefined;
    }
  }
  if (isUri(s) || !path.posix.isAbsolute(s)) return undefined;
  return path.posix.normalize(s);
}

/**
 * `dataset`: the dataset's output.uri (a local path, file:// or a remote URI). `roots`: other local
 * inputs of the run (work folder, catalog source, label file); each one's folder counts as a root, so
 * any path under it inside a message is rewritten too.
 */
export function portablePaths(dataset: string, roots: ReadonlyArray<string | undefined>): PortablePaths {
  const datasetDir = localPathOf(dataset);
  const dirs = new Set<string>();
  if (datasetDir) dirs.add(datasetDir);
  for (const r of roots) {
    const p = localPathOf(r);
    if (p === undefined) continue;
    dirs.add(p);
    if (path.posix.dirname(p) !== '/') dirs.add(path.posix.dirname(p));
  }
  // Longest first, so a path under the dataset is made relative to it, not to its parent.
  const ordered = [...dirs].filter((d) => d !== '/').sort((a, b) => b.length - a.length);

  const portable = (abs: string): string => {
    const slash = abs.length > 1 && abs.endsWith('/') ? '/' : '';
    if (datasetDir) return `${path.posix.relative(datasetDir, abs) || '.'}${slash}`;
    const root = ordered.find((d) => abs === d || abs.startsWith(`${d}/`));
    const base = root ? path.posix.dirname(root) : path.posix.dirname(abs);
    return `local:${path.posix.relative(base, abs)}${slash}`;
  };

  const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // file:// URLs anywhere; then absolute paths under a known root, ending at a character a path in
  // a message rarely holds (whitespace, quotes, brackets, a comma or a colon followed by a space).
  const fileUrl = /file:\/\/[^\s"'<>)\]},;]+/g;
  const rootPaths =
    ordered.length > 0
      ? new RegExp(
          `(?<![\\w.~-])(?:${ordered.map(escapeRegExp).join('|')})(?=$|[/\\s"'<>)\\]},;:])[^\\s"'<>)\\]},;]*`,
          'g',
        )
      : undefined;

  const text = (s: string): string => {
    if (!s.includes('/')) return s;
    let out = s.replace(fileUrl, (url) => {
      const trail = /[.:]+$/.exec(url)?.[0] ?? '';
      const abs = localPathOf(url.slice(0, url.length - trail.length));
      return abs ? `${portable(abs)}${trail}` : url;
    });
    if (rootPaths) {
      out = out.replace(rootPaths, (p) => {
        const trail = /[.:]+$/.exec(p)?.[0] ?? '';
        return `${portable(path.posix.normalize(p.slice(0, p.length - trail.length)))}${trail}`;
      });
    }
    return out;
  };

  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return v.map(value) as T;
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), value(x)])) as T;
    }
    return v;
  };
  return { text, value };
}

type PortableCatalog = { kind: string; source?: string; files?: ReadonlyArray<string | { path: string }> };

/** The rewriter of a run's dataset: its output.uri, work folder and local inputs. */
export function portablePathsOfJob(
  job: {
    output: { uri: string; work?: string | undefined };
    catalog: PortableCatalog;
    sources?: ReadonlyArray<{ catalog: PortableCatalog }> | undefined;
    labels?: { source: string } | undefined;
  },
  workUri: string,
): PortablePaths {
  const catalogs = [job.catalog, ...(job.sources ?? []).map((x) => x.catalog)];
  return portablePaths(job.output.uri, [
    workUri,
    job.output.work,
    ...catalogs.map((c) => (c.kind === 'static' ? c.source : undefined)),
    // A files catalog's GeoTIFFs are local inputs too.
    ...catalogs.flatMap((c) => (c.files ?? []).map((f) => (typeof f === 'string' ? f : f.path))),
    job.labels?.source,
  ]);
}
