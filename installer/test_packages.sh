#!/usr/bin/env bash
# Builds the .deb, .tar.gz and self-extracting .sh packages from a finished build tree,
# unpacks the .deb into a temporary root with dpkg-deb -x and runs the installed binaries.
# Usage: test_packages.sh <build dir> <expected version>
set -euo pipefail
build=$1
version=$2
work=$(mktemp -d /tmp/birkhoff-package-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

cpack --config "$build/CPackConfig.cmake" -B "$work/out" > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/*.deb)
tgz=$(ls "$work"/out/*.tar.gz)
sh=$(ls "$work"/out/*.sh)
echo "packages: $(basename "$deb") $(basename "$tgz") $(basename "$sh")"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
grep -q libopenblas0-openmp <<<"$depends" || { echo "FAIL: Depends lacks libopenblas0-openmp"; exit 1; }

dpkg-deb -x "$deb" "$work/root"
# Every shared library the installed binaries need must come from a package named in Depends.
ldconfig -p > "$work/ldcache"
for bin in "$work"/root/usr/bin/*; do
  for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    path=$(awk -v l="$lib" '$1 == l { print $NF }' "$work/ldcache" | head -n 1)
    [ -n "$path" ] || { echo "FAIL: $(basename "$bin") needs $lib, which is not installed here"; exit 1; }
    real=$(readlink -f "$path")
    # dpkg may register a library under /lib or /usr/lib (merged /usr): ask for every spelling.
    pkg=$( (dpkg -S "$real" "${real#/usr}" "/usr${real}" "$path" 2>/dev/null || true) | sed -n '1s/:.*//p')
    [ -n "$pkg" ] || { echo "FAIL: no Debian package provides $lib"; exit 1; }
    grep -qw "$pkg" <<<"$depends" || { echo "FAIL: $(basename "$bin") needs $lib from $pkg, missing in Depends"; exit 1; }
  done
done
cli=$("$work/root/usr/bin/birkhoff" --version)
studio=$("$work/root/usr/bin/birkhoff-studio" --version)
echo "$cli / $studio"
[ "$cli" = "birkhoff $version" ] || { echo "FAIL: unexpected CLI version '$cli'"; exit 1; }
[ "$studio" = "birkhoff-studio $version" ] || { echo "FAIL: unexpected studio version '$studio'"; exit 1; }

app=io.github.birkhoff_studio.BirkhoffStudio
for f in "usr/share/applications/$app.desktop" "usr/share/metainfo/$app.metainfo.xml" \
         "usr/share/icons/hicolor/scalable/apps/$app.svg" "usr/share/icons/hicolor/256x256/apps/$app.png"; do
  [ -f "$work/root/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
desktop-file-validate "$work/root/usr/share/applications/$app.desktop"
appstreamcli validate --no-net --pedantic "$work/root/usr/share/metainfo/$app.metainfo.xml" >/dev/null \
  || appstreamcli validate --no-net "$work/root/usr/share/metainfo/$app.metainfo.xml"

# The self-extracting archive installs into a user-chosen prefix without root.
mkdir -p "$work/prefix"
sh "$sh" --prefix="$work/prefix" --skip-license --exclude-subdir > /dev/null
[ "$("$work/prefix/bin/birkhoff" --version)" = "birkhoff $version" ] || { echo "FAIL: .sh install"; exit 1; }
echo "installer packages OK"
