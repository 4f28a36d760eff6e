/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* commands.h - the subcommands main.c dispatches to; each returns the
 * process exit code. */
#ifndef PYBPF_COMMANDS_H
#define PYBPF_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_gil(int argc, char **argv);
int cmd_agent(int argc, char **argv);

#endif /* PYBPF_COMMANDS_H */
