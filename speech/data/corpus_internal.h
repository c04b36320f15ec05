// Pieces shared by the corpus readers and the corpus check; not part of the public contract.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/data/corpus.h"

namespace dial::speech::internal {

// A relative audio path is resolved against `dir` (the data directory or the manifest's folder); when nothing
// exists there but the path exists relative to dir's parent, that one is taken (dial's layout: DIR/train/wav.scp
// names DIR/wav/x.wav as "wav/x.wav"). When neither exists, the `dir` resolution is returned so that errors name
// it.
std::string ResolveAudioPath(const std::string& dir, const std::string& path);

// Runs `command` with /bin/sh -c (stdin from /dev/null) and returns its stdout. A non-zero exit or a signal is
// an InvalidArgument naming `what`, the command, its exit status and the last line of its stderr.
Result<std::vector<uint8_t>> RunAudioCommand(const std::string& command, const std::string& what);

// How an entry's audio is named in messages: its path, or its command followed by " |".
std::string EntrySource(const CorpusEntry& entry);

}  // namespace dial::speech::internal
