#!/usr/bin/env bash
# Downloads and unpacks the official CIFAR-10 and/or CIFAR-100 binary
# releases into ./data (or the folder given), for users with internet access:
#
#   scripts/get_cifar.sh            # CIFAR-10 into data/cifar-10-batches-bin
#   scripts/get_cifar.sh 100        # CIFAR-100 into data/cifar-100-binary
#   scripts/get_cifar.sh all /data  # both, into /data
#
# `cf train` finds data/cifar-10-batches-bin by itself.
set -euo pipefail
which="${1:-10}"
dest="${2:-data}"
mkdir -p "$dest"
fetch() {  # url, archive name, folder it unpacks to
  if [ -d "$dest/$3" ]; then echo "$dest/$3 is already there"; return; fi
  echo "downloading $1"
  if command -v curl > /dev/null; then curl -fL -o "$dest/$2" "$1"; else wget -O "$dest/$2" "$1"; fi
  tar -xzf "$dest/$2" -C "$dest" && rm "$dest/$2"
  echo "unpacked into $dest/$3"
}
case "$which" in
  10) fetch https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz cifar-10-binary.tar.gz cifar-10-batches-bin ;;
  100) fetch https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz cifar-100-binary.tar.gz cifar-100-binary ;;
  all) "$0" 10 "$dest"; "$0" 100 "$dest" ;;
  *) echo "usage: $0 [10|100|all] [folder]" >&2; exit 2 ;;
esac
