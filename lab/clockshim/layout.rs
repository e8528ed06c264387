// The clock file shared by the lab (writer) and the clock shim (reader),
// included by both: `lab/clockshim/shim.rs` and `lab/src/server/clock.rs`.
//
// The file holds a generation byte and two slots of a signed offset in
// nanoseconds (native endian). The lab writes a new offset into the slot
// the generation does not select, then bumps the generation; a reader picks
// the slot by the generation and retries if the generation moved while it
// read. A torn 8-byte write (the kernel does not promise to copy 8 bytes in
// one store) is thus never read; a 1-byte write cannot tear.

/// The length of the clock file.
pub const FILE_LEN: usize = 24;
/// Where the generation byte is; its lowest bit selects the slot.
pub const GENERATION_AT: usize = 0;
/// Where slot 0 and slot 1 are (8-aligned, as an `AtomicI64` needs).
pub const SLOT_AT: [usize; 2] = [8, 16];
/// The environment variable that names the clock file for the shim.
pub const CLOCK_FILE_ENV: &str = "LOCKLAB_CLOCK_FILE";
