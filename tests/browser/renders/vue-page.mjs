// The Vue page of tests/browser/renders.test.mjs: one probe per question
// (probes.mjs), each counting its renders. A probe built on useCan /
// useDecision / useCanAnywhere (computeds) counts in its render function;
// the package's <Can> is counted by a global mixin's beforeMount and
// beforeUpdate (its renders), found by its `data-probe` attribute.
// `window.showTwins()` mounts a second copy of every probe: new computeds
// asking the same questions of the same snapshot.

import { createApp, defineComponent, h, nextTick, ref } from 'vue';
import { Can, createTesseraPlugin, useCanAnywhere, useDecision } from '@tessera/vue';

import { PROBES } from './probes.mjs';
import { count, session } from './shared.mjs';

const UseCanProbe = defineComponent({
  props: { name: String, permission: String, path: Array },
  setup(props) {
    const decision = useDecision(() => props.permission, () => props.path);
    return () => {
      count(props.name);
      return h('li', { 'data-probe': props.name }, decision.value);
    };
  },
});

const AnywhereProbe = defineComponent({
  props: { name: String, permission: String },
  setup(props) {
    const anywhere = useCanAnywhere(() => props.permission);
    return () => {
      count(props.name);
      return h('li', { 'data-probe': props.name }, String(anywhere.value));
    };
  },
});

const CanProbe = defineComponent({
  props: { name: String, permission: String, path: Array },
  setup(props) {
    return () => h('li', null, h(Can, { permission: props.permission, path: props.path, 'data-probe': props.name }, {
      default: () => h('span', { 'data-probe': props.name }, 'children'),
      fallback: () => h('span', { 'data-probe': props.name }, 'fallback'),
      loading: () => h('span', { 'data-probe': props.name }, 'loading'),
    }));
  },
});

const KINDS = { useCan: UseCanProbe, can: CanProbe, anywhere: AnywhereProbe };
const twins = ref(false);

const App = defineComponent({
  setup() {
    const list = (suffix) => PROBES.map(({ name, kind, permission, path }) =>
      h(KINDS[kind], { key: name + suffix, name: name + suffix, permission, path }));
    return () => h('div', null, [
      h('ul', { id: 'probes' }, list('')),
      twins.value ? h('ul', { id: 'twins' }, list('+twin')) : null,
    ]);
  },
});

window.showTwins = async () => {
  twins.value = true;
  await nextTick();
};
/** Resolves after Vue has flushed what is queued. */
window.flushed = () => nextTick();

createApp(App)
  .use(createTesseraPlugin(session))
  .mixin({
    // The package's <Can>: its own renders, named by the attribute it is given.
    beforeMount() {
      if (this.$options.name === 'Can') count(this.$attrs['data-probe']);
    },
    beforeUpdate() {
      if (this.$options.name === 'Can') count(this.$attrs['data-probe']);
    },
  })
  .mount('#root');
