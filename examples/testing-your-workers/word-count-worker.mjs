// A worker module as an application would have it: the task and its registration, apart from the
// code that connects it to production servers. The JSDoc types let `checkJs` check it.
/**
 * Counts words, reporting progress per line and each long word as WORK_DATA.
 * @param {import('gearman-ts').GearmanWorker} worker
 * @param {import('gearman-ts').GearmanJob} job
 */
export async function countWords(worker, job) {
  const lines = String(job.data).split('\n');
  let words = 0;
  for (const [i, line] of lines.entries()) {
    for (const word of line.split(/\s+/).filter(Boolean)) {
      words++;
      if (word.length > 10) await worker.sendJobData(job, word);
    }
    await worker.sendJobStatus(job, i + 1, lines.length);
  }
  return JSON.stringify({ lines: lines.length, words });
}

/** @param {import('gearman-ts').GearmanWorker} worker */
export function registerTasks(worker) {
  worker.registerTask('count-words', countWords);
}
