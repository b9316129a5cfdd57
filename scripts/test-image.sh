#!/usr/bin/env bash
# Builds the test image kecs-test/busybox:latest from Debian's busybox-static, without any
# registry, when it is absent. It serves /www/index.html with `httpd -f -p 8080 -h /www`.
set -euo pipefail
image=kecs-test/busybox:latest
docker image inspect "$image" >/dev/null 2>&1 && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download busybox-static >/dev/null 2>&1 || { apt-get update -qq && apt-get download busybox-static; }
dpkg-deb -x busybox-static_*.deb pkg
mkdir -p rootfs/bin rootfs/tmp rootfs/www
cp pkg/bin/busybox rootfs/bin/busybox
for app in sh ls cat echo sleep httpd wget true false env id hostname ps kill; do
    ln -s busybox "rootfs/bin/$app"
done
echo hello-from-kecs > rootfs/www/index.html
tar -C rootfs -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
echo "built $image"
