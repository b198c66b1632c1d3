/**
 * Why an upload is not a dataset, said with the place (byte offset, line, row and column): the API answers it as a
 * 400 naming the `body` (413 for a file over DATASET_MAX_BYTES). A trainer that meets it reading a stored dataset
 * (which passed the same checks) fails the trial: the data is at fault, not the trainer.
 */
export class DatasetInvalid extends Error {
  override name = "DatasetInvalid";
  constructor(message: string, readonly status: 400 | 413 = 400) {
    super(message);
  }
}
