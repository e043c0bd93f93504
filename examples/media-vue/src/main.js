// The media library's front end (Vue 3, vue-router): platforms and roms
// lists where hidden entries are absent, a hidden rom's URL showing the
// app's 404 page (installRouterGuard), the signed-out kiosk visitor
// read-only, and collections editable only by their owner (<Can> with the
// collection's owner). Every answer comes from the live session.

import { computed, createApp, defineComponent, h, ref } from 'vue';
import { RouterLink, RouterView, createRouter, createWebHistory, useRoute } from 'vue-router';
import { createTessera } from '@tessera/web/session';
import { Can, createTesseraPlugin, installRouterGuard, useFilter, useNav, useStatus, useTessera } from '@tessera/vue';

const config = window.MEDIA_CONFIG ?? {};

/** @type {import('@tessera/web/session').Session<import('../../media/tessera').PermissionKey>} */
const session = createTessera({
  snapshotUrl: '/tessera/snapshot',
  keysUrl: '/tessera/keys',
  eventsUrl: '/tessera/events',
  pollSeconds: config.pollSeconds ?? 60,
});

const romPath = (rom) => [`platform:${rom.platform}`, `rom:${rom.id}`];

/** The app's own data, from its own backend. */
const library = ref({ platforms: [], roms: [], collections: [], user: null });
const loaded = fetch('/api/library')
  .then((response) => response.json())
  .then((data) => {
    library.value = data;
  });

const NAV = { '/platforms': 'Platforms', '/collections': 'Collections', '/admin': 'Admin' };

const Nav = defineComponent(() => {
  const items = useNav();
  return () =>
    h('nav', { 'aria-label': 'main' }, [
      h('ul', items.value.filter((item) => NAV[item]).map((item) =>
        h('li', { key: item }, h(RouterLink, { to: item, 'data-nav': item }, () => NAV[item])))),
    ]);
});

/** What the session is doing, when it is not simply ready. */
const SessionState = defineComponent(() => {
  const status = useStatus();
  const tessera = useTessera();
  return () => {
    switch (status.value) {
      case 'loading':
        return h('p', { class: 'loading', 'data-state': 'loading' }, 'Loading your permissions…');
      case 'error':
        return h('p', { role: 'alert', 'data-state': 'error' },
          `Your permissions could not be verified (${tessera.error?.code}). Reload the page or sign in again.`);
      case 'expired':
        return h('p', { role: 'alert', 'data-state': 'expired' }, 'Your permissions expired and could not be renewed.');
      case 'stale':
        return h('p', { 'data-state': 'stale' }, 'Offline: permissions may be out of date.');
      default:
        return null;
    }
  };
});

const Layout = defineComponent(() => () => [
  h('header', [
    h('strong', h(RouterLink, { to: '/' }, () => 'Library')),
    h(Nav),
    library.value.user
      ? h('span', { 'data-user': library.value.user.id }, [library.value.user.name, ' ', h('a', { href: '/logout' }, 'Sign out')])
      : h('span', { 'data-user': 'anonymous' }, ['Kiosk ', h('a', { href: '/login/viv' }, 'viv'), ' ', h('a', { href: '/login/ed' }, 'ed')]),
  ]),
  h('main', [h(SessionState), h(RouterView)]),
]);

const Home = defineComponent(() => () =>
  h('section', { 'data-page': 'home' }, [h('h1', 'Retro library'), h('p', 'Browse the platforms and the collections.')]));

const Platforms = defineComponent(() => {
  const visible = useFilter('platform:read', () => library.value.platforms, (platform) => [`platform:${platform.id}`]);
  return () =>
    h('section', { 'data-page': 'platforms' }, [
      h('h1', 'Platforms'),
      h('ul', visible.value.map((platform) =>
        h('li', { key: platform.id, 'data-platform': platform.id },
          h(RouterLink, { to: `/platforms/${platform.id}/roms` }, () => platform.name)))),
    ]);
});

const Roms = defineComponent(() => {
  const route = useRoute();
  const here = computed(() => library.value.roms.filter((rom) => rom.platform === route.params.platform));
  const visible = useFilter('rom:read', here, romPath);
  return () =>
    h('section', { 'data-page': 'roms' }, [
      h('h1', `Roms of ${route.params.platform}`),
      h('table', h('tbody', visible.value.map((rom) =>
        h('tr', { key: rom.id, 'data-rom': rom.id }, [
          h('td', h(RouterLink, { to: `/platforms/${rom.platform}/roms/${rom.id}` }, () => rom.name)),
          h('td', [
            h(Can, { permission: 'rom:download', path: romPath(rom) }, { default: () => h('button', { 'data-action': 'download' }, 'Download') }),
            h(Can, { permission: 'rom:delete', path: romPath(rom) }, { default: () => h('button', { 'data-action': 'delete' }, 'Delete') }),
          ]),
        ])))),
      h(Can, { permission: 'rom:upload', path: [`platform:${route.params.platform}`] }, {
        default: () => h('button', { 'data-action': 'upload' }, 'Upload roms'),
      }),
    ]);
});

const Rom = defineComponent(() => {
  const route = useRoute();
  const rom = computed(() => library.value.roms.find((r) => r.id === route.params.rom && r.platform === route.params.platform));
  return () =>
    rom.value
      ? h('section', { 'data-page': 'rom' }, [h('h1', rom.value.name)])
      : h('section', { 'data-page': 'loading-rom' });
});

const Collections = defineComponent(() => {
  const visible = useFilter('collection:read', () => library.value.collections, (c) => [`collection:${c.id}`]);
  return () =>
    h('section', { 'data-page': 'collections' }, [
      h('h1', 'Collections'),
      h('ul', visible.value.map((collection) =>
        h('li', { key: collection.id, 'data-collection': collection.id }, [
          collection.name,
          ' ',
          h(Can, { permission: 'collection:write', path: [`collection:${collection.id}`], owner: collection.owner }, {
            default: () => h('button', { 'data-action': 'edit' }, 'Edit'),
          }),
        ]))),
    ]);
});

const Admin = defineComponent(() => () => h('section', { 'data-page': 'admin' }, h('h1', 'Admin')));

const NotFound = defineComponent(() => () =>
  h('section', { 'data-page': 'not-found' }, [h('h1', 'Not found'), h('p', [h(RouterLink, { to: '/' }, () => 'Home')])]));

const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', component: Home, meta: { tessera: false } },
    { path: '/platforms', component: Platforms },
    { path: '/platforms/:platform/roms', component: Roms },
    { path: '/platforms/:platform/roms/:rom', component: Rom },
    { path: '/collections', component: Collections },
    { path: '/admin', component: Admin },
    { path: '/:pathMatch(.*)*', name: 'not-found', component: NotFound },
  ],
});
installRouterGuard(router, session, { notFound: 'not-found' });

window.tessera = session;
await loaded;
createApp(Layout).use(createTesseraPlugin(session)).use(router).mount('#root');
