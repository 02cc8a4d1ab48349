// Bounded concurrency for I/O fan-out (header reads, tile fetches): at most `limit` jobs in flight,
// started in order, so a step neither serializes its requests nor floods a server.

export async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as () => Promise<void>;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}
