// Bounded concurrency for I/O fan-out (header reads, tile fetches): at most `limit` jobs in flight,
// started in order, so a step neither serializes its requests nor floods a server.

/**
 * Runs `jobs` at most `limit` at a time. After the first failure no new job starts (the step fails
 * anyway, so further requests would only load the server); the running ones are awaited, so nothing
 * is still writing when this settles, then the first error is thrown.
 */
export async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < jobs.length) {
      const job = jobs[next++] as () => Promise<void>;
      try {
        await job();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), jobs.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
