// Module hooks (node:module register): "react" is react-stub.mjs.
export async function resolve(specifier, context, next) {
  if (specifier === 'react') return { url: new URL('./react-stub.mjs', import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
