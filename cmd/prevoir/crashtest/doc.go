// Package crashtest is prevoir's crash-test suite: its tests build the
// prevoir binary, kill it with SIGKILL at random moments and right after
// its Nth store write (PREVOIR_TEST_KILL_AFTER_PUTS), and race several
// processes of one command on one store (a folder, and MinIO when its
// binary is there), then check the invariants every command must keep:
//
//   - parts: every committed manifest's parts exist and read;
//   - whole: what readers see is a committed state, before or after the
//     command, never a part of it (no table of a dataset without the others);
//   - rerun: running the command again succeeds and yields the rows of an
//     uninterrupted run;
//   - gc: `prevoir store gc --min-age 0s` leaves exactly the committed
//     objects (no orphan part, kept copy or temporary; nothing committed
//     removed).
//
// `go test -short` runs a few trials per command (inside `make test`);
// `make crashtest` runs hundreds and writes the counts to
// docs/RELIABILITY.md. Commands that write the store add a scenario.
package crashtest
