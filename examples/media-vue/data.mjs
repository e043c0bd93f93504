// The media library the example shows (a RomM-like app), and how it is
// seeded into the host through its API (@tessera/node/client): the app's
// own data (platforms, roms, collections and their owners) lives in the
// app; the host holds who may do what where.

import { TesseraClient } from '@tessera/node/client';

export const ORG = 'romm';

export const PLATFORMS = [
  { id: 'snes', name: 'Super Nintendo' },
  { id: 'n64', name: 'Nintendo 64' },
];

export const ROMS = [
  { id: '1', platform: 'snes', name: 'Chrono Trigger' },
  { id: '2', platform: 'snes', name: 'Unreleased prototype' },
  { id: '3', platform: 'n64', name: 'Ocarina of Time' },
];

export const COLLECTIONS = [
  { id: 'favs', name: "Viv's favourites", owner: 'viv' },
  { id: 'rpgs', name: "Ed's RPGs", owner: 'ed' },
];

/** The demo users (the anonymous kiosk visitor has no cookie). */
export const USERS = {
  viv: 'Viv (viewer)',
  ed: 'Ed (editor of the SNES shelf)',
};

export const romPath = (rom) => [`platform:${rom.platform}`, `rom:${rom.id}`];

/**
 * Seeds the org through the host API with an admin token. Answers the ids
 * a test revokes: `{ edEditor }` (ed's EDITOR assignment at the SNES platform).
 */
export async function seed({ host, token }) {
  const client = new TesseraClient({ baseUrl: host, token });
  await client.createOrg({ id: ORG, name: 'Retro library' });
  for (const [id, name] of Object.entries(USERS)) {
    await client.putUser(id, { name });
    await client.putMember(ORG, id);
  }
  for (const platform of PLATFORMS) await client.putNode(ORG, `platform:${platform.id}`);
  for (const rom of ROMS) await client.putNode(ORG, `rom:${rom.id}`, { parent: `platform:${rom.platform}` });
  for (const collection of COLLECTIONS) await client.putNode(ORG, `collection:${collection.id}`);
  const reader = await client.createRole(ORG, {
    name: 'Reader',
    permissions: ['platform:read', 'rom:read', 'rom:download', 'firmware:read', 'collection:read'],
  });
  const collector = await client.createRole(ORG, { name: 'Collector', permissions: ['collection:read', 'collection:write'] });
  // Everyone, the signed-out kiosk visitor included, may browse; the kiosk
  // setting leaves the visitor only the `read` keys (no downloads).
  await client.createAssignment(ORG, { subject: '@everyone', role: reader.id });
  // Everyone may edit the collections they own (owner-only).
  await client.createAssignment(ORG, { subject: '@everyone', role: collector.id, ownerOnly: true });
  await client.createAssignment(ORG, { subject: 'user:viv', role: 'VIEWER' });
  const edEditor = await client.createAssignment(ORG, { subject: 'user:ed', role: 'EDITOR', scope: 'platform:snes' });
  await client.putSettings(ORG, { kiosk: true });
  // The prototype is hidden from everyone: its URL is a 404.
  await client.createHidden(ORG, { selector: 'everyone', node: 'rom:2' });
  return { edEditor: edEditor.id };
}
