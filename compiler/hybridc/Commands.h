//===- Commands.h - hybridc's subcommands -----------------------*- C++ -*-===//
#ifndef HYBRIDC_TOOL_COMMANDS_H
#define HYBRIDC_TOOL_COMMANDS_H

#include "llvm/Support/Error.h"

#include <CLI/CLI.hpp>

namespace hybridc {

/// Each subcommand registers itself on `app`; its callback sets `exitCode`.
void addImportCommand(CLI::App &app, int &exitCode);
void addCompileCommand(CLI::App &app, int &exitCode);
void addRunCommand(CLI::App &app, int &exitCode);
void addBenchCommand(CLI::App &app, int &exitCode);
void addVerifyCommand(CLI::App &app, int &exitCode);
void addInspectCommand(CLI::App &app, int &exitCode);
void addTokenizeCommand(CLI::App &app, int &exitCode);
void addChatTemplateCommand(CLI::App &app, int &exitCode);
void addChatCommand(CLI::App &app, int &exitCode);
void addServeCommand(CLI::App &app, int &exitCode);

/// Prints `hybridc: error: <message>` to stderr.
void reportError(llvm::Error error);

} // namespace hybridc

#endif // HYBRIDC_TOOL_COMMANDS_H
