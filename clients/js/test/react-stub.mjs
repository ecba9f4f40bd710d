// A stand-in for "react" (resolved in its place by react-resolve.mjs) with
// what useLivegate uses - useRef and useEffect - and a harness that renders
// a hook, runs the effects whose deps changed (cleaning up first, as React
// does) and unmounts. The package has no React of its own to test with.

let current = null; // the hook being rendered: { slots, effects }
let index = 0;

export function useRef(initial) {
  const i = index++;
  if (!(i in current.slots)) current.slots[i] = { current: initial };
  return current.slots[i];
}

export function useEffect(fn, deps) {
  const i = index++;
  const old = current.slots[i];
  const changed = !old || !deps || deps.length !== old.deps.length || deps.some((d, k) => !Object.is(d, old.deps[k]));
  if (!old) current.slots[i] = { deps, cleanup: null };
  if (changed) current.effects.push({ slot: current.slots[i], fn, deps });
}

export function renderHook(hook) {
  const state = { slots: {}, effects: [] };
  const render = (...args) => {
    current = state;
    index = 0;
    hook(...args);
    current = null;
    for (const e of state.effects.splice(0)) {
      if (e.slot.cleanup) e.slot.cleanup();
      e.slot.deps = e.deps;
      e.slot.cleanup = e.fn() || null;
    }
  };
  const unmount = () => {
    for (const s of Object.values(state.slots)) if (s.cleanup) s.cleanup();
  };
  return { render, unmount };
}
