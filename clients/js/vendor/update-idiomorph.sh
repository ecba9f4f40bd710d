#!/bin/sh
# Re-vendor idiomorph from the npm registry into clients/js/vendor/.
#
# The build never runs this (it must work without network); a maintainer runs
# it by hand to move to a new idiomorph release, then reviews the diff.
#
# Two files, both upstream's own build output byte for byte after a short
# provenance + licence header:
#   idiomorph.min.js  what the build embeds into /livegate.js (upstream's
#                     minified build: keeps the script under 8 KB gzipped)
#   idiomorph.js      the same release unminified, to read and review
#
# usage: clients/js/vendor/update-idiomorph.sh [VERSION]
set -eu

version=${1:-0.8.0}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "idiomorph@$version" >/dev/null && tar xzf ./*.tgz)

for f in idiomorph.js idiomorph.min.js; do
  {
    printf '/*\n * idiomorph %s, dist/%s from the npm package "idiomorph",\n' "$version" "$f"
    printf ' * https://github.com/bigskysoftware/idiomorph\n *\n'
    sed -e 's/^/ * /' -e 's/[[:space:]]*$//' "$tmp/package/LICENSE"
    printf ' */\n'
    cat "$tmp/package/dist/$f"
  } > "$here/$f.tmp"
  cp "$here/$f.tmp" "$tmp/check.js"
  node --check "$tmp/check.js"
  mv "$here/$f.tmp" "$here/$f"
done
echo "vendored idiomorph $version: idiomorph.min.js is" \
  "$(gzip -9c "$here/idiomorph.min.js" | wc -c) bytes gzipped"
