/**
 * The catalogue of processing workflows: what each worker image consumes.
 *
 * This module is read by the manifests (lib/) and by the queue tool (queue/), so it must stay
 * free of side effects and of heavy imports (no cdk8s here): the queue tool loads it at start-up.
 *
 * A workflow mirrors one third-party worker image. The worker passes each work item as keyword
 * arguments to its workflow function, so `itemFields` must list exactly the keyword arguments
 * that function accepts: an unknown key crashes the worker.
 */
import { sentinel2Problem, sentinel2Valid } from './scene-id-parts';
export interface WorkflowDefinition {
  /** Short DNS-label name, used in resource names and as `--workflow` of the queue tool. */
  readonly name: string;
  /** Human-readable description, shown by `queue --help`. */
  readonly description: string;
  /** Redis list the worker image reads. Hard-coded in the image: must match it exactly. */
  readonly queue: string;
  /** Worker image, pinned by tag. */
  readonly image: string;
  /** Naming rule of the scene IDs this workflow accepts as `in_scene`. */
  readonly sceneId: SceneIdRule;
  /**
   * Keyword arguments of the workflow function other than `in_scene`, in the order items
   * list them. An item may hold only these keys.
   */
  readonly itemFields: readonly string[];
  /** Default item fields added by the queue tool, e.g. `inter_dir`. */
  readonly itemDefaults: Readonly<Record<string, string>>;
}


/** How to recognise a valid scene ID, and how to explain the rule when one is not. */
export interface SceneIdRule {
  readonly pattern: RegExp;
  /** Completes "expected …" in error messages. */
  readonly description: string;
  /**
   * The whole rule on bytes: whether `bytes[start..end)` is a valid scene ID, i.e. matches
   * `pattern` (as printable ASCII without '"' and '\\') and has valid parts where a pattern cannot
   * check them (calendar dates, grid letters). Called for every line of an ASCII input, so it
   * must be cheap; a line it refuses goes to `pattern` and `problem`, which explain why. Without
   * it, every line is checked as a string against `pattern` only.
   */
  readonly valid?: (bytes: Uint8Array, start: number, end: number) => boolean;
  /** Why a scene ID is wrong, naming the part; `undefined` when no part can be blamed. */
  readonly problem?: (scene: string) => string | undefined;
}

/** Where workers write intermediate files; the Job mounts scratch storage here. */
export const DEFAULT_INTER_DIR = '/data/intermediate/';

/** Sentinel-2 relative orbit 001–143. */
const S2_ORBIT = '(?:00[1-9]|0[1-9]\\d|1[0-3]\\d|14[0-3])';
/** UTM zone 01–60, latitude band (C–X without I and O), 100 km square (two letters). */
const MGRS_TILE = '(?:0[1-9]|[1-5]\\d|60)[C-HJ-NP-X][A-Z]{2}';
const DATE_TIME = '\\d{8}T\\d{6}';

/** @see https://sentinels.copernicus.eu/web/sentinel/user-guides/sentinel-2-msi/naming-convention */
export const SENTINEL_2: WorkflowDefinition = {
  name: 's2',
  description: 'Sentinel-2 MSI L1C/L2A to ARD (prepareS2)',
  queue: 'jobS2',
  image: 'satapps/ard-workflow-s2:0.4.0',
  sceneId: {
    pattern: new RegExp(`^S2[ABC]_MSIL(?:1C|2A)_${DATE_TIME}_N\\d{4}_R${S2_ORBIT}_T${MGRS_TILE}_${DATE_TIME}$`),
    description:
      'a Sentinel-2 product name: S2A|S2B|S2C _ MSIL1C|MSIL2A _ sensing time YYYYMMDDTHHMMSS _ Nxxxx _ ' +
      'R001-R143 _ Txxyyy (UTM zone 01-60, three letters) _ YYYYMMDDTHHMMSS, ' +
      'e.g. S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708',
    valid: sentinel2Valid,
    problem: sentinel2Problem,
  },
  itemFields: ['s3_bucket', 's3_dir', 'inter_dir', 'prodlevel'],
  itemDefaults: { inter_dir: DEFAULT_INTER_DIR },
};

/** @see https://www.usgs.gov/faqs/what-naming-convention-landsat-collections-level-1-scenes */
export const LANDSAT: WorkflowDefinition = {
  name: 'ls',
  description: 'Landsat 4-9 Collection 1/2 to ARD (prepareLS)',
  queue: 'jobLS',
  image: 'satapps/ard-workflow-ls:0.4.0',
  sceneId: {
    pattern: /^L[COTEM]0[4-9]_L(?:1TP|1GT|1GS|2SP|2SR)_\d{6}_\d{8}_\d{8}_0[12]_(?:T1|T2|RT)$/,
    description:
      'a Landsat product ID: LXSS_LLLL_PPPRRR_YYYYMMDD_YYYYMMDD_CC_TX, e.g. LC08_L2SP_123032_20200101_20200113_02_T1',
  },
  itemFields: ['s3_bucket', 's3_dir', 'inter_dir', 'prodlevel'],
  itemDefaults: { inter_dir: DEFAULT_INTER_DIR },
};

/** @see https://sentinels.copernicus.eu/web/sentinel/user-guides/sentinel-1-sar/naming-conventions */
export const SENTINEL_1: WorkflowDefinition = {
  name: 's1',
  description: 'Sentinel-1 SAR GRD/SLC to ARD (prepareS1)',
  queue: 'jobS1',
  image: 'satapps/ard-workflow-s1:0.4.0',
  sceneId: {
    pattern: new RegExp(
      `^S1[ABC]_(?:IW|EW|SM|WV|S[1-6])_(?:GRD[FHM]|SLC_|RAW_|OCN_)_[0-3][SA](?:SH|SV|DH|DV|HH|HV|VV|VH)_${DATE_TIME}_${DATE_TIME}_\\d{6}_[0-9A-F]{6}_[0-9A-F]{4}$`,
    ),
    description:
      'a Sentinel-1 product name, e.g. S1A_IW_GRDH_1SDV_20190812T175430_20190812T175455_028533_033942_4B7F',
  },
  itemFields: ['ext_dem', 's3_bucket', 's3_dir', 'inter_dir'],
  itemDefaults: { inter_dir: DEFAULT_INTER_DIR },
};

/** Every workflow the tool knows, by name. Environments choose which of them run. */
export const WORKFLOWS: Readonly<Record<string, WorkflowDefinition>> = {
  [SENTINEL_2.name]: SENTINEL_2,
  [LANDSAT.name]: LANDSAT,
  [SENTINEL_1.name]: SENTINEL_1,
};

/** The workflow used when none is named. */
export const DEFAULT_WORKFLOW = SENTINEL_2.name;

/** Finds the workflow that owns `queue`, e.g. `jobS2` → Sentinel-2. */
export function workflowForQueue(queue: string): WorkflowDefinition | undefined {
  return Object.values(WORKFLOWS).find((w) => w.queue === queue);
}
