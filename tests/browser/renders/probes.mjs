// The questions the render-count pages ask, one probe each (also read by
// tests/browser/renders.test.mjs). `kind`: 'can' is the package's <Can>,
// 'useCan' a component calling useCan, 'anywhere' useCanAnywhere.
// Two probes ask the same question (blink-111, blink-111-can): one call
// into the module answers both.

export const MINER_111 = ['site:1', 'rack:11', 'miner:111'];
export const MINER_113 = ['site:1', 'rack:11', 'miner:113'];
export const MINER_211 = ['site:2', 'rack:21', 'miner:211'];
export const RACK_21 = ['site:2', 'rack:21'];

export const PROBES = [
  { name: 'blink-111', kind: 'useCan', permission: 'miner:blink_led', path: MINER_111 },
  { name: 'blink-111-can', kind: 'can', permission: 'miner:blink_led', path: MINER_111 },
  { name: 'blink-211', kind: 'useCan', permission: 'miner:blink_led', path: MINER_211 },
  { name: 'reboot-111', kind: 'can', permission: 'miner:reboot', path: MINER_111 },
  { name: 'read-113', kind: 'can', permission: 'miner:read', path: MINER_113 },
  { name: 'rack-manage-21', kind: 'can', permission: 'rack:manage', path: RACK_21 },
  { name: 'site-manage-1', kind: 'useCan', permission: 'site:manage', path: ['site:1'] },
  { name: 'rack-manage-anywhere', kind: 'anywhere', permission: 'rack:manage' },
];

/** The text a probe shows for an answer (<Can> shows its children or its fallback). */
export function shown(probe, answer) {
  if (probe.kind === 'can') return answer === 'allow' ? 'children' : 'fallback';
  return String(answer);
}
