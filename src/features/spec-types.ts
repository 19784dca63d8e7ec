/**
 * The feature spec: which embedding table each field uses, how its ids pool, and whether the
 * feature values weight the pooling. Tables can serve several fields (the seed's
 * shared_embedding_columns); fields pool to one vector each, concatenated in spec order into the
 * dense input of the towers (so the dense input width is fields.length * embeddingDim).
 */
export type Pooling = 'sum' | 'mean';

export interface TableSpec {
  /** Name that fields refer to; also salts the hash, so shared fields map an id to the same row. */
  name: string;
  /** Hash bucket count = number of embedding rows. */
  buckets: number;
}

export interface FieldSpec {
  /** Raw field id as in the data: "101", "109_14", "205", ... */
  name: string;
  /** Name of the table in `tables`. */
  table: string;
  pooling: Pooling;
  /** true: each id's embedding is multiplied by its feature value (weighted_categorical_column). */
  weighted: boolean;
}

export interface FeatureSpec {
  format: 'esmm-feature-spec';
  version: 1;
  /** Embedding dimension shared by all tables (the paper uses 18). */
  embeddingDim: number;
  tables: TableSpec[];
  fields: FieldSpec[];
}
