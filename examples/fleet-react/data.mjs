// The fleet the example shows, and how it is seeded into the host through
// its API (@tessera/node/client): the app's own data (sites, racks, miners)
// lives in the app; the host holds who may do what where.

import { TesseraClient } from '@tessera/node/client';

export const ORG = 'acme';

export const SITES = [
  { id: '1', name: 'Reykjanes' },
  { id: '2', name: 'Quebec' },
];

export const RACKS = [
  { id: '11', site: '1', name: 'R-A' },
  { id: '21', site: '2', name: 'Q-A' },
];

export const MINERS = [
  { id: '111', site: '1', rack: '11', name: 'S19-0111' },
  { id: '112', site: '1', rack: '11', name: 'S19-0112' },
  { id: '113', site: '1', rack: '11', name: 'S19-0113' },
  { id: '211', site: '2', rack: '21', name: 'S21-0211' },
  { id: '212', site: '2', rack: '21', name: 'S21-0212' },
];

/** The demo users: who they are and what the seed grants them. */
export const USERS = {
  alice: 'Alice (fleet admin)',
  bob: 'Bob (field tech, Reykjanes)',
  carol: 'Carol (field tech, Quebec)',
  dave: 'Dave (no grants yet)',
};

export const minerPath = (miner) => [`site:${miner.site}`, `rack:${miner.rack}`, `miner:${miner.id}`];
export const rackPath = (rack) => [`site:${rack.site}`, `rack:${rack.id}`];

/**
 * Seeds the org through the host API with an admin token. Answers the ids
 * a test revokes: `{ bobTech }` (bob's FIELD_TECH assignment at site 1).
 */
export async function seed({ host, token }) {
  const client = new TesseraClient({ baseUrl: host, token });
  await client.createOrg({ id: ORG, name: 'Acme Mining' });
  for (const [id, name] of Object.entries(USERS)) {
    await client.putUser(id, { name });
    await client.putMember(ORG, id);
  }
  for (const site of SITES) await client.putNode(ORG, `site:${site.id}`);
  for (const rack of RACKS) await client.putNode(ORG, `rack:${rack.id}`, { parent: `site:${rack.site}` });
  for (const miner of MINERS) await client.putNode(ORG, `miner:${miner.id}`, { parent: `rack:${miner.rack}` });
  await client.createAssignment(ORG, { subject: 'user:alice', role: 'ADMIN' });
  const bobTech = await client.createAssignment(ORG, { subject: 'user:bob', role: 'FIELD_TECH', scope: 'site:1' });
  await client.createAssignment(ORG, { subject: 'user:carol', role: 'FIELD_TECH', scope: 'site:2' });
  // Miner 113 is being repossessed: hidden from bob, as if it did not exist.
  await client.createHidden(ORG, { selector: 'user:bob', node: 'miner:113' });
  return { bobTech: bobTech.id };
}
