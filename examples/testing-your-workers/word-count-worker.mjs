// A worker module as an application would have it: the task and its registration, apart from the
// code that connects it to production servers.
/** Counts words, reporting progress per line and each long word as WORK_DATA. */
export async function countWords(worker, job) {
  const lines = job.data.toString('utf8').split('\n');
  let words = 0;
  for (let i = 0; i < lines.length; i++) {
    for (const word of lines[i].split(/\s+/).filter(Boolean)) {
      words++;
      if (word.length > 10) await worker.sendJobData(job, word);
    }
    await worker.sendJobStatus(job, i + 1, lines.length);
  }
  return JSON.stringify({ lines: lines.length, words });
}

export function registerTasks(worker) {
  worker.registerTask('count-words', countWords);
}
