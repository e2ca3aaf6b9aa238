import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLY_REGIONS, RegionAliasError, RegionTable, type RegionChoice } from '../../src/replay/regions.ts';

const US = ['atl', 'bos', 'den', 'dfw', 'ewr', 'iad', 'lax', 'mia', 'ord', 'phx', 'sea', 'sjc'];

function regions(...codes: string[]): RegionChoice {
  return { kind: 'regions', regions: codes };
}

test('FLY_REGIONS has Fly region codes with their city and groups', () => {
  assert.equal(Object.keys(FLY_REGIONS).length, 35);
  assert.deepEqual(FLY_REGIONS.iad, { name: 'Ashburn, Virginia (US)', groups: ['na', 'us', 'usa'] });
  assert.deepEqual(FLY_REGIONS.yyz.groups, ['na']);
  assert.deepEqual(FLY_REGIONS.jnb.groups, []);
  for (const [code, region] of Object.entries(FLY_REGIONS)) {
    assert.match(code, /^[a-z]{3}$/);
    assert.ok(region.name.length > 0, code);
  }
  assert.ok(Object.isFrozen(FLY_REGIONS));
});

test('RegionTable.expand turns each Fly alias into its regions', () => {
  const table = new RegionTable();
  assert.deepEqual(table.expand(['us']), [regions(...US)]);
  assert.deepEqual(table.expand(['usa']), [regions(...US)]);
  assert.deepEqual(table.expand(['na']), [regions(...[...US, 'gdl', 'qro', 'yul', 'yyz'].sort())]);
  assert.deepEqual(table.expand(['sa']), [regions('bog', 'eze', 'gig', 'gru', 'scl')]);
  assert.deepEqual(table.expand(['eu']), [regions('ams', 'arn', 'cdg', 'fra', 'lhr', 'mad', 'otp', 'waw')]);
  assert.deepEqual(table.expand(['apac']), [regions('bom', 'hkg', 'nrt', 'sin', 'syd')]);
  assert.deepEqual(table.expand(['any']), [{ kind: 'any' }]);
});

test('RegionTable.expand of sjc,any tries sjc and then any region', () => {
  assert.deepEqual(new RegionTable().expand(['sjc', 'any']), [regions('sjc'), { kind: 'any' }]);
});

test('RegionTable.expand of iad,ord,us,na drops regions already offered by earlier entries', () => {
  assert.deepEqual(new RegionTable().expand(['iad', 'ord', 'us', 'na']), [
    regions('iad'),
    regions('ord'),
    regions(...US.filter((code) => code !== 'iad' && code !== 'ord')),
    regions('gdl', 'qro', 'yul', 'yyz'),
  ]);
});

test('RegionTable.expand drops duplicate entries, empty entries and everything after any', () => {
  const table = new RegionTable();
  assert.deepEqual(table.expand(['iad', 'iad', ' ', 'IAD']), [regions('iad')]);
  assert.deepEqual(table.expand(['us', 'usa', 'iad']), [regions(...US)]);
  assert.deepEqual(table.expand(['any', 'iad']), [{ kind: 'any' }]);
  assert.deepEqual(table.expand([]), []);
});

test('RegionTable.expand keeps unknown codes as single regions, lower case', () => {
  assert.deepEqual(new RegionTable().expand(['Lab-1', 'mars', 'iad']), [regions('lab-1'), regions('mars'), regions('iad')]);
});

test('RegionTable custom aliases name Fly regions, custom regions and other aliases', () => {
  const table = new RegionTable({
    west: ['sjc', 'lax', 'sea'],
    lab: ['lab-1', 'lab-2'],
    home: ['west', 'lab', 'eu', 'sjc'],
  });
  assert.deepEqual(table.expand(['west']), [regions('sjc', 'lax', 'sea')]);
  assert.deepEqual(table.expand(['lab', 'any']), [regions('lab-1', 'lab-2'), { kind: 'any' }]);
  assert.deepEqual(table.expand(['lax', 'home']), [
    regions('lax'),
    regions('sjc', 'sea', 'lab-1', 'lab-2', 'ams', 'arn', 'cdg', 'fra', 'lhr', 'mad', 'otp', 'waw'),
  ]);
  assert.equal(table.isAlias('west'), true);
  assert.equal(table.isAlias('HOME'), true);
  assert.equal(table.isAlias('lab-1'), false);
});

test('RegionTable custom alias with a built-in alias name replaces it', () => {
  const table = new RegionTable({ us: ['us-east', 'us-west'] });
  assert.deepEqual(table.expand(['us']), [regions('us-east', 'us-west')]);
  assert.deepEqual(table.expand(['usa']), [regions(...US)]);
});

test('RegionTable.isAlias knows Fly aliases and any, and not region codes', () => {
  const table = new RegionTable();
  for (const alias of ['us', 'usa', 'na', 'sa', 'eu', 'apac', 'any', 'EU']) assert.equal(table.isAlias(alias), true, alias);
  for (const code of ['iad', 'jnb', 'lab-1', '']) assert.equal(table.isAlias(code), false, code);
  assert.deepEqual(table.codesOf('sa'), ['bog', 'eze', 'gig', 'gru', 'scl']);
  assert.equal(table.codesOf('iad'), null);
});

test('RegionTable refuses custom aliases it cannot accept', () => {
  const cases: Record<string, string[]>[] = [
    { any: ['iad'] },
    { iad: ['ord'] },
    { 'bad name': ['iad'] },
    { '': ['iad'] },
    { empty: [] },
    { west: ['sjc', 'any'] },
    { west: ['sjc', 'not a code'] },
    { a: ['b'], b: ['a'] },
    { self: ['self'] },
    { West: ['sjc'], west: ['lax'] },
  ];
  for (const aliases of cases) {
    assert.throws(
      () => new RegionTable(aliases),
      (error: unknown) => error instanceof RegionAliasError && error.code === 'INVALID_REGION_ALIAS',
      JSON.stringify(aliases),
    );
  }
});
