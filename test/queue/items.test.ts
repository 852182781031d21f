import { SENTINEL_2 } from '../../protocol/workflows';
import { ItemTemplate, itemFields, sceneOfItem } from '../../queue/items';

const S2 = 'S2A_MSIL2A_20190812T235741_N0213_R030_T56LRR_20190813T014708';

describe('items', () => {
  test('compact JSON, in_scene first, fields in the workflow order, defaults applied', () => {
    const template = new ItemTemplate(itemFields(SENTINEL_2, { 's3-dir': 'ard/', 's3-bucket': 'my-bucket' }));
    expect(template.item(S2)).toBe(`{"in_scene":"${S2}","s3_bucket":"my-bucket","s3_dir":"ard/","inter_dir":"/data/intermediate/"}`);
    expect(new ItemTemplate(itemFields(SENTINEL_2, {})).item(S2)).toBe(`{"in_scene":"${S2}","inter_dir":"/data/intermediate/"}`);
    expect(new ItemTemplate(itemFields(SENTINEL_2, { 'inter-dir': '/scratch/' })).item(S2)).toBe(`{"in_scene":"${S2}","inter_dir":"/scratch/"}`);
  });

  test.each([
    [{ 'inter-dir': 'data/' }, "--inter-dir must be an absolute directory path ending in '/', e.g. /data/intermediate/, got 'data/'"],
    [{ 'inter-dir': '/data' }, "--inter-dir must be an absolute directory path ending in '/', e.g. /data/intermediate/, got '/data'"],
    [{ 'inter-dir': '/data/../etc/' }, "--inter-dir must not have '.' or '..' segments (the worker's scratch mount is the only writable place), got '/data/../etc/'"],
    [{ 'inter-dir': '/data/./x/' }, "--inter-dir must not have '.' or '..' segments (the worker's scratch mount is the only writable place), got '/data/./x/'"],
    [{ 's3-bucket': 'My_Bucket' }, "--s3-bucket must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), got 'My_Bucket'"],
    [{ 's3-dir': 'a\nb' }, '--s3-dir must be a non-empty string without control characters, got "a\\nb"'],
  ])('refuses %j', (flags, message) => {
    expect(() => itemFields(SENTINEL_2, flags)).toThrow(message);
  });

  test('refuses a flag whose field the workflow does not accept', () => {
    const noS3 = { ...SENTINEL_2, name: 'x', itemFields: ['inter_dir'] };
    expect(() => itemFields(noS3, { 's3-bucket': 'bucket' })).toThrow("--s3-bucket sets 's3_bucket', which workflow 'x' does not accept; its item fields are: inter_dir");
  });

  test('sceneOfItem reads in_scene back, ignores foreign items', () => {
    expect(sceneOfItem(`{"in_scene":"${S2}","inter_dir":"/x/"}`)).toBe(S2);
    expect(sceneOfItem('not json')).toBeUndefined();
  });
});
