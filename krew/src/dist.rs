//! `dist`: build (or take) the binaries, pack the release archive, and write the manifest for it.
