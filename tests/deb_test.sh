#!/bin/sh
# deb_test.sh - the Debian package, end to end: builds it from a copy of
# this tree (dpkg-buildpackage -us -uc -b), lints it (lintian: no errors),
# installs it with dpkg into a fresh root (a copy-on-write root of this
# machine: overlayfs over /usr, /etc and /var in a private mount namespace,
# so nothing reaches the host), and checks there that `hostgate --version`
# and `hostgate check` of the packaged seed work, the hostgate system user
# exists, the man pages are installed and `systemd-analyze verify` accepts
# the units. Run by meson test (suite deb); it takes a minute or two, so it
# runs when HG_DEB_TEST=1 (scripts/test sets it for its release build) and
# skips visibly otherwise. Exit 77 is a skip.
set -eu

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "${HG_DEB_TEST:-}" = 1 ] || skip "the package test runs in CI (HG_DEB_TEST=1; scripts/test sets it)"
for t in dpkg-buildpackage dpkg-parsechangelog lintian fakeroot unshare chroot systemd-analyze; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed (scripts/install-deps)"
done
[ "$(id -u)" = 0 ] || skip "not root: the fresh root is an overlay mount"
src=${HG_SRCDIR:?HG_SRCDIR is set by meson test}

W=$(mktemp -d "/tmp/hg-deb-$$-XXXXXX")
trap 'umount -R "$W/root" 2>/dev/null || true; rm -rf "$W" || true' EXIT

# A copy of the tree (what git knows of, plus new files), without builds.
mkdir -p "$W/src"
if git -C "$src" rev-parse >/dev/null 2>&1; then
	(cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$W/src")
else
	(cd "$src" && tar --exclude='./build*' -cf - .) | (cd "$W/src" && tar -xf -)
fi
version=$(cd "$W/src" && dpkg-parsechangelog -SVersion)
if ! (cd "$W/src" && dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1); then
	tail -40 "$W/build.log"
	echo "FAIL: dpkg-buildpackage"
	exit 1
fi
deb="$W/hostgate_${version}_amd64.deb"
[ -f "$deb" ] || { ls "$W"; echo "FAIL: no $deb"; exit 1; }
echo "built $(basename "$deb"): $(dpkg-deb -f "$deb" Installed-Size) KiB installed"

# lintian: errors fail the test; warnings are shown.
if ! lintian --fail-on error "$deb" >"$W/lintian.log" 2>&1; then
	cat "$W/lintian.log"
	echo "FAIL: lintian reports errors"
	exit 1
fi
grep -v 'not recommended' "$W/lintian.log" || true

# The fresh root: this machine's /usr, /etc and /var under writable
# overlays, in a mount namespace of our own.
cp "$deb" "$W/hostgate.deb"
unshare -m sh -eu -c '
W=$1
R=$W/root
mount --make-rprivate /
mkdir -p "$R"
for d in usr etc var; do
	mkdir -p "$R/$d" "$W/upper/$d" "$W/work/$d"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$W/upper/$d,workdir=$W/work/$d" "$R/$d"
done
for l in bin lib sbin lib64; do
	[ -L "/$l" ] && ln -s "$(readlink "/$l")" "$R/$l"
done
mkdir -p "$R/proc" "$R/dev" "$R/run" "$R/tmp" "$R/sys"
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
cp "$W/hostgate.deb" "$R/tmp/"
if getent passwd hostgate >/dev/null; then
	echo "note: this machine already has a hostgate user"
fi
chroot "$R" sh -eu -c "
	dpkg -i /tmp/hostgate.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
	echo installed: \$(dpkg-query -W -f=\"\\\${Package} \\\${Version} \\\${Status}\" hostgate)
	command -v hostgate
	hostgate --version
	hostgate check /usr/share/hostgate/rulesets/seed-zero-trust.yaml
	getent passwd hostgate
	test -f /etc/hostgate/hostgate.conf
	man -w hostgate hostgate-ship 2>/dev/null || ls /usr/share/man/man1/hostgate.1.gz /usr/share/man/man1/hostgate-ship.1.gz
	test -f /usr/share/bash-completion/completions/hostgate
	test -f /etc/logrotate.d/hostgate
	if command -v logrotate >/dev/null; then
		logrotate --debug /etc/logrotate.d/hostgate 2>&1 | grep -q \"rotating pattern: /var/log/hostgate/\*.json\"
		echo logrotate accepts /etc/logrotate.d/hostgate
	fi
	for u in /lib/systemd/system/hostgate*.service; do
		systemd-analyze verify \"\$u\"
		echo verified: \$u
	done
"
' sh "$W"
echo "PASS: package built, lint-clean, installed and working in a fresh root"
