/**
 * The content hash of the data a task was made from, when it came from an uploaded dataset (a task that carries
 * its dataset's identity exposes `datasetSha256`, or `sha256`); null for the built-in tasks. Stored in a model's
 * manifest beside its task.
 */
export function datasetHashOf(task: unknown): string | null {
  if (task === null || typeof task !== "object") return null;
  const t = task as { datasetSha256?: unknown; sha256?: unknown; dataset?: { sha256?: unknown } };
  const hash = t.datasetSha256 ?? t.sha256 ?? t.dataset?.sha256;
  return typeof hash === "string" ? hash : null;
}
