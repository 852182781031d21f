/**
 * Distinct valid Sentinel-2 product names for the benchmarks, in a side-effect-free module so
 * that every bench can import it (each bench runs on import).
 */

/** The i-th of up to 143 × 60 × 28 × 86,400 distinct valid Sentinel-2 product names. */
export function sceneId(i: number): string {
  const orbit = String((i % 143) + 1).padStart(3, '0');
  const zone = String((Math.floor(i / 143) % 60) + 1).padStart(2, '0');
  const day = String((Math.floor(i / 8580) % 28) + 1).padStart(2, '0');
  const seconds = Math.floor(i / 240_240); // 143 orbits × 60 zones × 28 days
  const time = `${String(Math.floor(seconds / 3600) % 24).padStart(2, '0')}${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}${String(seconds % 60).padStart(2, '0')}`;
  return `S2${'ABC'[i % 3]}_MSIL2A_201908${day}T${time}_N0213_R${orbit}_T${zone}LRR_20190813T014708`;
}
