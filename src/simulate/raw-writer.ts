/**
 * Writes sessions in the raw Ali-CCP layout, one split at a time:
 *
 *   sample_skeleton_{split}.csv  sample_id,click,conversion,common_feature_index,feature_num,feature_list
 *   common_features_{split}.csv  common_feature_index,feature_num,feature_list
 *   truth_{split}.csv            sample_id,p_click,p_conv_given_click   (header line; ours, not Ali-CCP's)
 *
 * feature_list entries are `field 0x02 id 0x03 value`, separated by 0x01; no header in the two
 * Ali-CCP files; lines end with \n. A common row holds the user id, the profile fields and the
 * `_14` histories; a skeleton row holds the item's fields (210 once per intention), the scene, and
 * the combination fields 508/509/702/853 where the user's history has the item's entity.
 */
import { join } from 'node:path';
import { mix32 } from '../util/rng.js';
import { ByteWriter } from './byte-writer.js';
import {
  BRAND,
  CATEGORY,
  COMBINATION_BUCKETS,
  COMBINATION_FIELDS,
  ENTITY_KIND_COUNT,
  HISTORY_FIELDS,
  INTENTION,
  ITEM_ENTITY_FIELDS,
  PROFILE_FIELDS,
  SHOP,
  countBucket,
} from './feature-ids.js';
import { LOG_COUNT_BYTES, ONE_VALUE_BYTES } from './log-values.js';
import type { Period, Session } from './sessions.js';
import type { World } from './world.js';

export const TRUTH_HEADER = 'sample_id,p_click,p_conv_given_click';
/** Decimals of the probabilities in the truth file (absolute precision 1e-10). */
export const TRUTH_DECIMALS = 10;

export interface SplitPaths {
  skeleton: string;
  common: string;
  truth: string;
}

export function splitPaths(outDir: string, split: Period): SplitPaths {
  return {
    skeleton: join(outDir, `sample_skeleton_${split}.csv`),
    common: join(outDir, `common_features_${split}.csv`),
    truth: join(outDir, `truth_${split}.csv`),
  };
}

/** What a split writer has written so far. */
export interface SplitCounts {
  impressions: number;
  clicks: number;
  conversions: number;
  commonRows: number;
  commonEntries: number;
  skeletonEntries: number;
  /** Sums of the true probabilities, for the summary's selection-bias figures. */
  sumPClick: number;
  sumPConv: number;
  sumPConvClicked: number;
  bytes: number;
}

/** Separators: 0x01 between entries, 0x02 after the field (in the prefixes), 0x03 before the value. */
const SEP_ENTRY = 0x01;
const SEP_VALUE = 0x03;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

/** `field 0x02`, with and without the 0x01 that separates it from the previous entry. */
function fieldPrefix(field: string): [first: Uint8Array, next: Uint8Array] {
  const first = new Uint8Array(Buffer.from(field + '\x02', 'latin1'));
  const next = new Uint8Array(first.length + 1);
  next[0] = SEP_ENTRY;
  next.set(first, 1);
  return [first, next];
}

const USER_PREFIX = fieldPrefix('101');
const PROFILE_PREFIX = PROFILE_FIELDS.map(fieldPrefix);
const HISTORY_PREFIX = HISTORY_FIELDS.map(fieldPrefix);
const ITEM_ENTITY_PREFIX = ITEM_ENTITY_FIELDS.map(fieldPrefix);
const COMBINATION_PREFIX = COMBINATION_FIELDS.map(fieldPrefix);
const ITEM_PREFIX = fieldPrefix('205');
const SCENE_PREFIX = fieldPrefix('301');
/** Skeleton order of the single item entities (as in the real rows: 216, 301, 205, 206, 207). */
const SINGLE_ENTITY_KINDS = [CATEGORY, SHOP] as const;

export class RawSplitWriter {
  private readonly skeleton: ByteWriter;
  private readonly common: ByteWriter;
  private readonly truth: ByteWriter;
  private readonly indexKeyHigh: number;
  private readonly indexKeyLow: number;
  // Per impression: the item's category, shop and brand, and the user's counts on them.
  private readonly entityOf = new Int32Array(ENTITY_KIND_COUNT);
  private readonly combinationCounts = new Int32Array(ENTITY_KIND_COUNT);
  private readonly counts: SplitCounts = {
    impressions: 0,
    clicks: 0,
    conversions: 0,
    commonRows: 0,
    commonEntries: 0,
    skeletonEntries: 0,
    sumPClick: 0,
    sumPConv: 0,
    sumPConvClicked: 0,
    bytes: 0,
  };
  // Bytes of the current common_feature_index, reused for each of its skeleton rows.
  private readonly index = new Uint8Array(16);

  constructor(
    private readonly world: World,
    readonly paths: SplitPaths,
    split: Period,
  ) {
    this.skeleton = ByteWriter.create(paths.skeleton);
    this.common = ByteWriter.create(paths.common);
    this.truth = ByteWriter.create(paths.truth, 1 << 20);
    this.truth.ascii(TRUTH_HEADER + '\n');
    const salt = split === 'train' ? 0x7472 : 0x7465;
    this.indexKeyHigh = mix32(world.seed ^ mix32(salt));
    this.indexKeyLow = mix32(world.seed ^ mix32(salt + 1));
  }

  /** Writes the session's common row, then its skeleton and truth rows. */
  writeSession(s: Session): void {
    this.setIndex(this.counts.commonRows);
    this.writeCommonRow(s);
    for (let j = 0; j < s.count; j++) this.writeImpression(s, j);
  }

  get written(): Readonly<SplitCounts> {
    return { ...this.counts, bytes: this.skeleton.bytesWritten + this.common.bytesWritten + this.truth.bytesWritten };
  }

  close(): SplitCounts {
    this.skeleton.close();
    this.common.close();
    this.truth.close();
    return { ...this.written };
  }

  abort(): void {
    this.skeleton.abort();
    this.common.abort();
    this.truth.abort();
  }

  /**
   * A 16-hex-digit index, unique within the split: the high half is a bijection of the row
   * number (mix32 is invertible), the low half only makes it look random.
   */
  private setIndex(row: number): void {
    const high = mix32((row + this.indexKeyHigh) >>> 0);
    const low = mix32((row ^ this.indexKeyLow) >>> 0);
    for (let d = 0; d < 8; d++) {
      this.index[d] = hexDigit((high >>> (28 - 4 * d)) & 15);
      this.index[8 + d] = hexDigit((low >>> (28 - 4 * d)) & 15);
    }
  }

  private writeCommonRow(s: Session): void {
    const { world, common: w } = this;
    const { ids, population } = world;
    const h = s.history;
    const profileAt = s.user * PROFILE_FIELDS.length;
    let entries = 1 + h.total;
    for (let f = 0; f < PROFILE_FIELDS.length; f++) if (population.profile[profileAt + f]! >= 0) entries++;
    w.bytes(this.index);
    w.byte(COMMA);
    w.uint(entries);
    w.byte(COMMA);
    w.bytes(USER_PREFIX[0]);
    w.uint(ids.user + s.user);
    w.byte(SEP_VALUE);
    w.bytes(ONE_VALUE_BYTES);
    for (let f = 0; f < PROFILE_FIELDS.length; f++) {
      const v = population.profile[profileAt + f]!;
      if (v < 0) continue;
      w.bytes(PROFILE_PREFIX[f]![1]);
      w.uint(ids.profile[f]! + v);
      w.byte(SEP_VALUE);
      w.bytes(ONE_VALUE_BYTES);
    }
    for (let k = 0; k < ENTITY_KIND_COUNT; k++) {
      const prefix = HISTORY_PREFIX[k]![1];
      const base = ids.history[k]!;
      const entities = h.entities[k]!;
      const counts = h.counts[k]!;
      for (let e = 0; e < h.lengths[k]!; e++) {
        w.bytes(prefix);
        w.uint(base + entities[e]!);
        w.byte(SEP_VALUE);
        w.bytes(LOG_COUNT_BYTES[counts[e]!]!);
      }
    }
    w.byte(NEWLINE);
    this.counts.commonRows++;
    this.counts.commonEntries += entries;
  }

  private writeImpression(s: Session, j: number): void {
    const { world, skeleton: w, counts } = this;
    const { ids, catalog: cat } = world;
    const h = s.history;
    const item = s.items[j]!;
    const intentionFrom = cat.itemIntentionOffsets[item]!;
    const intentionTo = cat.itemIntentionOffsets[item + 1]!;
    const entityOf = this.entityOf;
    entityOf[CATEGORY] = cat.itemCategory[item]!;
    entityOf[SHOP] = cat.itemShop[item]!;
    entityOf[BRAND] = cat.itemBrand[item]!;
    const combos = this.combinationCounts;
    let comboCount = 0;
    for (let k = CATEGORY; k <= BRAND; k++) {
      combos[k] = h.countOf(k, entityOf[k]!);
      if (combos[k]! > 0) comboCount++;
    }
    for (let q = intentionFrom; q < intentionTo; q++) if (h.countOf(INTENTION, cat.itemIntentions[q]!) > 0) comboCount++;
    const entries = intentionTo - intentionFrom + 5 + comboCount;

    counts.impressions++;
    const clicked = s.click[j]!;
    const converted = s.conversion[j]!;
    w.uint(counts.impressions);
    w.byte(COMMA);
    w.byte(48 + clicked);
    w.byte(COMMA);
    w.byte(48 + converted);
    w.byte(COMMA);
    w.bytes(this.index);
    w.byte(COMMA);
    w.uint(entries);
    w.byte(COMMA);
    // 210 (one per intention), 216, 301, 205, 206, 207: the order of the real rows.
    for (let q = intentionFrom; q < intentionTo; q++) {
      w.bytes(ITEM_ENTITY_PREFIX[INTENTION]![q === intentionFrom ? 0 : 1]);
      w.uint(ids.itemEntity[INTENTION]! + cat.itemIntentions[q]!);
      w.byte(SEP_VALUE);
      w.bytes(ONE_VALUE_BYTES);
    }
    this.single(ITEM_ENTITY_PREFIX[BRAND]![1], ids.itemEntity[BRAND]! + entityOf[BRAND]!);
    this.single(SCENE_PREFIX[1], ids.scene + s.scenes[j]!);
    this.single(ITEM_PREFIX[1], ids.item + item);
    for (const k of SINGLE_ENTITY_KINDS) this.single(ITEM_ENTITY_PREFIX[k]![1], ids.itemEntity[k]! + entityOf[k]!);
    // 508, 509, 702, then 853 per matching intention: id = entity and count bucket, value ln(count).
    for (let k = CATEGORY; k <= BRAND; k++) {
      if (combos[k]! > 0) this.combination(k, entityOf[k]!, combos[k]!);
    }
    for (let q = intentionFrom; q < intentionTo; q++) {
      const intention = cat.itemIntentions[q]!;
      const n = h.countOf(INTENTION, intention);
      if (n > 0) this.combination(INTENTION, intention, n);
    }
    w.byte(NEWLINE);
    counts.skeletonEntries += entries;
    counts.clicks += clicked;
    counts.conversions += converted;
    const pClick = s.pClick[j]!;
    const pConv = s.pConvGivenClick[j]!;
    counts.sumPClick += pClick;
    counts.sumPConv += pConv;
    if (clicked) counts.sumPConvClicked += pConv;

    const t = this.truth;
    t.uint(counts.impressions);
    t.byte(COMMA);
    t.unitFixed(pClick, TRUTH_DECIMALS);
    t.byte(COMMA);
    t.unitFixed(pConv, TRUTH_DECIMALS);
    t.byte(NEWLINE);
  }

  private single(prefix: Uint8Array, id: number): void {
    const w = this.skeleton;
    w.bytes(prefix);
    w.uint(id);
    w.byte(SEP_VALUE);
    w.bytes(ONE_VALUE_BYTES);
  }

  private combination(k: number, entity: number, count: number): void {
    const w = this.skeleton;
    w.bytes(COMBINATION_PREFIX[k]![1]);
    w.uint(this.world.ids.combination[k]! + entity * COMBINATION_BUCKETS + countBucket(count));
    w.byte(SEP_VALUE);
    w.bytes(LOG_COUNT_BYTES[count]!);
  }
}

function hexDigit(d: number): number {
  return d < 10 ? 48 + d : 87 + d;
}
