#!/usr/bin/env bash
# Install a built dist/ColorStudio for the current user: the app folder, a `colorstudio`
# command, the desktop entry and the icons (freedesktop hicolor theme). No root needed.
#
#   packaging/install-desktop.sh [APP_FOLDER]     default: dist/ColorStudio
#   PREFIX=/opt packaging/install-desktop.sh      system-wide (run as root)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app="${1:-$here/../dist/ColorStudio}"
[[ -x "$app/colorstudio" ]] || { echo "no built app in $app: run packaging/build.sh" >&2; exit 1; }
prefix="${PREFIX:-$HOME/.local}"
share="$prefix/share"

mkdir -p "$prefix/opt" "$prefix/bin" "$share/applications"
rm -rf "$prefix/opt/ColorStudio"
cp -a "$app" "$prefix/opt/ColorStudio"
ln -sf "$prefix/opt/ColorStudio/colorstudio" "$prefix/bin/colorstudio"

icons="$prefix/opt/ColorStudio/_internal/resources/icons"
[[ -d "$icons" ]] || icons="$prefix/opt/ColorStudio/resources/icons"
for png in "$icons"/colorstudio-*.png; do
    size="$(basename "$png" .png)"; size="${size#colorstudio-}"
    mkdir -p "$share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$share/icons/hicolor/${size}x${size}/apps/colorstudio.png"
done
mkdir -p "$share/icons/hicolor/scalable/apps"
cp "$icons/colorstudio.svg" "$share/icons/hicolor/scalable/apps/colorstudio.svg"

sed -e "s|^Exec=colorstudio|Exec=$prefix/bin/colorstudio|" \
    -e "s|^TryExec=colorstudio|TryExec=$prefix/bin/colorstudio|" \
    "$here/colorstudio.desktop" > "$share/applications/colorstudio.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$share/icons/hicolor" || true
echo "installed: $prefix/opt/ColorStudio, command $prefix/bin/colorstudio, menu entry ColorStudio"
