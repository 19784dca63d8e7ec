/**
 * What the tests of a dense graph on its own feed it: a feature spec of one table and one field
 * whose pooled input x is `dim` wide, and labels over a batch.
 */
import type { DoubleFeeds } from '../nn/gradient-check.js';

/** A spec of one summed field over one table of 8 buckets: x is [batch, dim]. */
export function oneFieldSpec(dim: number) {
  return {
    format: 'esmm-feature-spec',
    version: 1,
    embeddingDim: dim,
    tables: [{ name: 't', buckets: 8 }],
    fields: [{ name: 'f', table: 't', pooling: 'sum', weighted: false }],
  } as const;
}

/** Labels of `batch` rows: even rows clicked, every fourth row converted (so ctcvr = conversion). */
export function labelFeeds(batch: number): DoubleFeeds {
  const click = Float64Array.from({ length: batch }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const conversion = Float64Array.from(click, (o, i) => (o && i % 4 === 0 ? 1 : 0));
  return {
    click: { data: click, dims: [batch] },
    conversion: { data: conversion, dims: [batch] },
    ctcvr: { data: conversion.slice(), dims: [batch] },
  };
}
