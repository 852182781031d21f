/**
 * Scene IDs and work items for tests and benchmarks: one generator, side-effect free (every
 * bench runs on import, so it must be importable without starting anything).
 */

/** The i-th of up to 143 × 60 × 28 × 86,400 distinct valid Sentinel-2 product names. */
export function sceneId(i: number): string {
  const orbit = String((i % 143) + 1).padStart(3, '0');
  const zone = String((Math.floor(i / 143) % 60) + 1).padStart(2, '0');
  const day = String((Math.floor(i / 8580) % 28) + 1).padStart(2, '0');
  const seconds = Math.floor(i / 240_240); // 143 orbits × 60 zones × 28 days
  const time = `${String(Math.floor(seconds / 3600) % 24).padStart(2, '0')}${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}${String(seconds % 60).padStart(2, '0')}`;
  // The 100 km square's column letter must be one its UTM zone uses (A-H, J-R, S-Z in turn).
  const column = 'ZHR'[Number(zone) % 3];
  return `S2${'ABC'[i % 3]}_MSIL2A_201908${day}T${time}_N0213_R${orbit}_T${zone}L${column}R_20190813T014708`;
}

/** `n` distinct scene IDs, from the `from`-th on. */
export function sceneIds(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => sceneId(from + i));
}

/** The Sentinel-2 work item of `scene`, byte for byte as `enqueue` builds it by default. */
export function s2Item(scene: string): string {
  return `{"in_scene":"${scene}","inter_dir":"/data/intermediate/"}`;
}

/** `n` distinct Sentinel-2 work items. */
export function s2Items(n: number, from = 0): string[] {
  return sceneIds(n, from).map(s2Item);
}
