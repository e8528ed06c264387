//! locklab's clock shim: an `LD_PRELOAD` library that shifts the wall clock
//! of one process (a lab-started `redis-server`) by an offset the lab
//! changes while the process runs. See `docs/clock.md`.
//!
//! It replaces `clock_gettime`, `gettimeofday` and `time`. The wall clocks
//! (`CLOCK_REALTIME`, `CLOCK_REALTIME_COARSE`, `CLOCK_TAI`, which a real
//! clock step moves together) come back shifted; every other clock
//! (`CLOCK_MONOTONIC`, `CLOCK_BOOTTIME`, CPU clocks, …) comes back as the
//! kernel reads it. The offset is read on every call from the clock file
//! that `LOCKLAB_CLOCK_FILE` names (layout in `layout.rs`), mapped once.
//!
//! Why it is written this way: libfaketime finds the real `clock_gettime`
//! with `dlsym`, which allocates, and under jemalloc the allocator itself
//! asks for the time during its initialisation, so the first call recurses
//! until the stack runs out. This library never looks a symbol up and never
//! allocates (`no_std`, no allocator): it asks the kernel with raw system
//! calls, and it needs nothing from libc except `environ` and `errno`, both
//! data, bound when the library is loaded.
//!
//! Built by `lab/build.rs` with `rustc --crate-type cdylib` for x86_64 and
//! aarch64 Linux only; it is not part of the lab crate's module tree, which
//! forbids `unsafe`.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

mod layout;

use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr;
use core::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicPtr, AtomicU8, Ordering};

use layout::{CLOCK_FILE_ENV, FILE_LEN, GENERATION_AT, SLOT_AT};

const CLOCK_REALTIME: c_int = 0;
const CLOCK_REALTIME_COARSE: c_int = 5;
const CLOCK_TAI: c_int = 11;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Reads of the clock file that may find the lab writing before the last
/// one is taken as it is. The lab writes an offset in two short system
/// calls, seldom; finding it mid-write eight times in a row does not happen.
const READ_ATTEMPTS: u32 = 8;

/// The exit status when the shim cannot do its job (`EX_SOFTWARE`): a
/// server that silently kept the real clock would be worse.
const EXIT_BROKEN: usize = 70;

/// `struct timespec` on 64-bit Linux.
#[repr(C)]
pub struct Timespec {
    tv_sec: i64,
    tv_nsec: c_long,
}

/// `struct timeval` on 64-bit Linux.
#[repr(C)]
pub struct Timeval {
    tv_sec: i64,
    tv_usec: c_long,
}

/// `struct timezone` (obsolete; filled with zeros, as glibc does).
#[repr(C)]
struct Timezone {
    tz_minuteswest: c_int,
    tz_dsttime: c_int,
}

#[link(name = "c")]
extern "C" {
    static environ: *const *const c_char;
    fn __errno_location() -> *mut c_int;
}

/// The clock file, mapped read-only; null until the first wall-clock read.
static CLOCK_FILE: AtomicPtr<u8> = AtomicPtr::new(ptr::null_mut());
/// Set when the process has no `LOCKLAB_CLOCK_FILE`: the clock is not shifted.
static UNSHIFTED: AtomicBool = AtomicBool::new(false);

/// `clock_gettime(2)`, with the wall clocks shifted.
///
/// # Safety
/// As for libc's `clock_gettime`: `ts` points to a writable `timespec`.
#[no_mangle]
pub unsafe extern "C" fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int {
    // SAFETY: the kernel writes at most one `timespec` to `ts` and checks the
    // address itself (EFAULT); the clock id is passed sign-extended, as libc
    // does.
    let ret = unsafe {
        sys::call(
            sys::CLOCK_GETTIME,
            [clock as isize as usize, ts as usize, 0],
        )
    };
    if ret < 0 {
        return fail(ret);
    }
    if matches!(clock, CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI) {
        // SAFETY: the kernel just filled `*ts`, so it is valid and writable.
        shift(unsafe { &mut *ts }, offset_nanos());
    }
    0
}

/// `gettimeofday(2)`, shifted: Redis's `ustime()` and `mstime()`, hence key
/// expiry and `TIME`, read this one.
///
/// # Safety
/// As for libc's `gettimeofday`: `tv` and `tz` are null or point to
/// writable structs of their kind.
#[no_mangle]
pub unsafe extern "C" fn gettimeofday(tv: *mut Timeval, tz: *mut c_void) -> c_int {
    if !tz.is_null() {
        let zone = Timezone {
            tz_minuteswest: 0,
            tz_dsttime: 0,
        };
        // SAFETY: the caller passes a writable `struct timezone` when `tz`
        // is not null.
        unsafe { tz.cast::<Timezone>().write(zone) };
    }
    if tv.is_null() {
        return 0;
    }
    let now = match wall_clock(CLOCK_REALTIME) {
        Ok(now) => now,
        Err(ret) => return fail(ret),
    };
    let value = Timeval {
        tv_sec: now.tv_sec,
        tv_usec: now.tv_nsec / 1000,
    };
    // SAFETY: not null, and the caller passes a writable `struct timeval`.
    unsafe { tv.write(value) };
    0
}

/// `time(2)`, shifted. Read from `CLOCK_REALTIME_COARSE`, as glibc does.
///
/// # Safety
/// As for libc's `time`: `t` is null or points to a writable `time_t`.
#[no_mangle]
pub unsafe extern "C" fn time(t: *mut i64) -> i64 {
    let seconds = match wall_clock(CLOCK_REALTIME_COARSE) {
        Ok(now) => now.tv_sec,
        Err(ret) => return fail(ret).into(),
    };
    if !t.is_null() {
        // SAFETY: not null, and the caller passes a writable `time_t`.
        unsafe { t.write(seconds) };
    }
    seconds
}

/// A wall clock, shifted; the negative errno of the system call on failure.
fn wall_clock(clock: c_int) -> Result<Timespec, isize> {
    let mut now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let out = ptr::addr_of_mut!(now) as usize;
    // SAFETY: `out` points to a local `timespec` the kernel may fill.
    let ret = unsafe { sys::call(sys::CLOCK_GETTIME, [clock as usize, out, 0]) };
    if ret < 0 {
        return Err(ret);
    }
    shift(&mut now, offset_nanos());
    Ok(now)
}

/// Adds `offset` nanoseconds to `ts`, keeping `tv_nsec` in `0..1e9`.
fn shift(ts: &mut Timespec, offset: i64) {
    if offset == 0 {
        return;
    }
    let mut sec = ts.tv_sec.wrapping_add(offset.div_euclid(NANOS_PER_SEC));
    let mut nsec = ts.tv_nsec + offset.rem_euclid(NANOS_PER_SEC);
    if nsec >= NANOS_PER_SEC {
        nsec -= NANOS_PER_SEC;
        sec = sec.wrapping_add(1);
    }
    ts.tv_sec = sec;
    ts.tv_nsec = nsec;
}

/// Sets `errno` from a failed system call's return value; returns -1.
fn fail(ret: isize) -> c_int {
    // SAFETY: `__errno_location` returns the calling thread's `errno`, which
    // is always valid to write.
    unsafe { *__errno_location() = -ret as c_int };
    -1
}

/// The offset the lab set, in nanoseconds (0 in a process without a clock
/// file).
fn offset_nanos() -> i64 {
    let Some(base) = clock_file() else {
        return 0;
    };
    // SAFETY: `base` is a read-only mapping of a file at least `FILE_LEN` long,
    // published once and never unmapped; it is page-aligned, so the
    // generation byte and the 8-aligned slots are in bounds and aligned for
    // their atomic types. Another process (the lab, through the kernel)
    // writes the file; atomic loads are how Rust reads memory that changes
    // underneath, and the generation check below discards a torn slot.
    let (generation, slots) = unsafe {
        let slot = |i: usize| &*base.add(SLOT_AT[i]).cast::<AtomicI64>();
        (
            &*base.add(GENERATION_AT).cast::<AtomicU8>(),
            [slot(0), slot(1)],
        )
    };
    let mut value = 0;
    for _ in 0..READ_ATTEMPTS {
        let before = generation.load(Ordering::Acquire);
        value = slots[usize::from(before & 1)].load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if generation.load(Ordering::Relaxed) == before {
            break;
        }
    }
    value
}

/// The mapped clock file, mapping it on first use; `None` if the process
/// has none (or libc has not set up `environ` yet: try again next call).
fn clock_file() -> Option<*const u8> {
    let mapped = CLOCK_FILE.load(Ordering::Acquire);
    if !mapped.is_null() {
        return Some(mapped);
    }
    if UNSHIFTED.load(Ordering::Relaxed) {
        return None;
    }
    // SAFETY: `environ` is libc's environment, read as libc itself does.
    let path = match unsafe { env_value(CLOCK_FILE_ENV.as_bytes()) } {
        Env::NotYet => return None,
        Env::Unset => {
            UNSHIFTED.store(true, Ordering::Relaxed);
            return None;
        }
        Env::Set(path) => path,
    };
    let mine = map_read_only(path);
    // Two threads may map it at once; the first to publish wins and the
    // other unmaps its copy, so no lock is needed.
    match CLOCK_FILE.compare_exchange(ptr::null_mut(), mine, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(mine),
        Err(winner) => {
            // SAFETY: `mine` was mapped above with `FILE_LEN` bytes and never
            // published, so nothing else refers to it.
            unsafe { sys::call(sys::MUNMAP, [mine as usize, FILE_LEN, 0]) };
            Some(winner)
        }
    }
}

/// Maps the first `FILE_LEN` bytes of the file at `path` (a C string) read-only
/// and shared, so that the lab's writes show at once. Exits the process if
/// it cannot.
fn map_read_only(path: *const c_char) -> *mut u8 {
    const AT_FDCWD: isize = -100;
    const O_RDONLY_CLOEXEC: usize = 0o2000000;
    const SEEK_END: usize = 2;
    const PROT_READ: usize = 1;
    const MAP_SHARED: usize = 1;
    // SAFETY: `path` is a NUL-terminated string from the environment.
    let fd = unsafe {
        sys::call(
            sys::OPENAT,
            [AT_FDCWD as usize, path as usize, O_RDONLY_CLOEXEC],
        )
    };
    if fd < 0 {
        die(b"cannot open the file LOCKLAB_CLOCK_FILE names");
    }
    let fd = fd as usize;
    // SAFETY: plain system calls on the descriptor just opened; mmap picks
    // the address (0), so no existing mapping is touched.
    let (len, addr) = unsafe {
        let len = sys::call(sys::LSEEK, [fd, 0, SEEK_END]);
        let addr = if len >= FILE_LEN as isize {
            sys::mmap(FILE_LEN, PROT_READ, MAP_SHARED, fd)
        } else {
            -1
        };
        sys::call(sys::CLOSE, [fd, 0, 0]);
        (len, addr)
    };
    if len < FILE_LEN as isize {
        die(b"the file LOCKLAB_CLOCK_FILE names is too short");
    }
    // Errors are -4095..=-1; addresses are positive.
    if addr < 0 {
        die(b"cannot map the file LOCKLAB_CLOCK_FILE names");
    }
    addr as *mut u8
}

enum Env {
    /// libc has not set `environ` yet.
    NotYet,
    Unset,
    /// The value: a NUL-terminated string inside the environment.
    Set(*const c_char),
}

/// The value of the environment variable `name` (ASCII, without `=`).
///
/// # Safety
/// `environ` is null or a null-terminated array of NUL-terminated strings,
/// not changed by another thread meanwhile (libc's own `getenv` assumes the
/// same).
unsafe fn env_value(name: &[u8]) -> Env {
    // SAFETY: reading libc's pointer; see the function's contract.
    let mut entry = unsafe { environ };
    if entry.is_null() {
        return Env::NotYet;
    }
    // Bounded by the environment: the array ends with a null pointer.
    loop {
        // SAFETY: `entry` is within the null-terminated array.
        let var = unsafe { *entry };
        if var.is_null() {
            return Env::Unset;
        }
        // SAFETY: `var` is NUL-terminated; `starts_with_name` stops at the
        // first byte that differs, which a NUL always does.
        if unsafe { starts_with_name(var, name) } {
            // SAFETY: `name=` were the first bytes, so the value follows.
            return Env::Set(unsafe { var.add(name.len() + 1) });
        }
        // SAFETY: `var` was not the terminating null, so one more entry follows.
        entry = unsafe { entry.add(1) };
    }
}

/// Whether the C string `var` starts with `name=`.
///
/// # Safety
/// `var` is NUL-terminated and `name` holds no NUL.
unsafe fn starts_with_name(var: *const c_char, name: &[u8]) -> bool {
    for (i, &byte) in name.iter().enumerate() {
        // SAFETY: every earlier byte matched a non-NUL byte of `name`, so
        // the string goes on at least to `i`.
        if unsafe { *var.add(i) } as u8 != byte {
            return false;
        }
    }
    // SAFETY: as above, for the byte after `name`.
    unsafe { *var.add(name.len()) as u8 == b'=' }
}

/// Writes `locklab clock shim: <why>` to stderr and exits the process.
fn die(why: &[u8]) -> ! {
    let prefix: &[u8] = b"locklab clock shim: ";
    for part in [prefix, why, b"\n"] {
        // SAFETY: writes the bytes of a live slice to fd 2; a failure is
        // ignored, as there is nowhere else to report it.
        unsafe { sys::call(sys::WRITE, [2, part.as_ptr() as usize, part.len()]) };
    }
    sys::exit_group(EXIT_BROKEN)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    die(b"panicked")
}

/// Raw Linux system calls: the number in `rax`, arguments in `rdi`, `rsi`,
/// `rdx`, `r10`, `r8`, `r9`; the kernel clobbers `rcx` and `r11`.
#[cfg(target_arch = "x86_64")]
mod sys {
    use core::arch::asm;

    pub const WRITE: usize = 1;
    pub const CLOSE: usize = 3;
    pub const LSEEK: usize = 8;
    pub const MMAP: usize = 9;
    pub const MUNMAP: usize = 11;
    pub const EXIT_GROUP: usize = 231;
    pub const CLOCK_GETTIME: usize = 228;
    pub const OPENAT: usize = 257;

    /// A system call with three arguments.
    ///
    /// # Safety
    /// The arguments are valid for system call `nr` (pointers to memory it
    /// may read or write).
    pub unsafe fn call(nr: usize, [a, b, c]: [usize; 3]) -> isize {
        let ret;
        // SAFETY: the caller vouches for the arguments; the asm names every
        // register the kernel reads or clobbers, and may touch memory.
        unsafe {
            asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a, in("rsi") b,
                 in("rdx") c, lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    /// `mmap(NULL, len, prot, flags, fd, 0)`.
    ///
    /// # Safety
    /// `fd` is an open descriptor; the kernel picks the address.
    pub unsafe fn mmap(len: usize, prot: usize, flags: usize, fd: usize) -> isize {
        let ret;
        // SAFETY: as for `call`, with six arguments.
        unsafe {
            asm!("syscall", inlateout("rax") MMAP as isize => ret, in("rdi") 0usize,
                 in("rsi") len, in("rdx") prot, in("r10") flags, in("r8") fd, in("r9") 0usize,
                 lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    pub fn exit_group(status: usize) -> ! {
        // SAFETY: exit_group takes no pointer and does not return.
        unsafe {
            asm!("syscall", in("rax") EXIT_GROUP, in("rdi") status, options(noreturn, nostack))
        }
    }
}

/// Raw Linux system calls: the number in `x8`, arguments in `x0`–`x5`, the
/// result in `x0`.
#[cfg(target_arch = "aarch64")]
mod sys {
    use core::arch::asm;

    pub const OPENAT: usize = 56;
    pub const CLOSE: usize = 57;
    pub const LSEEK: usize = 62;
    pub const WRITE: usize = 64;
    pub const EXIT_GROUP: usize = 94;
    pub const CLOCK_GETTIME: usize = 113;
    pub const MUNMAP: usize = 215;
    pub const MMAP: usize = 222;

    /// A system call with three arguments.
    ///
    /// # Safety
    /// The arguments are valid for system call `nr` (pointers to memory it
    /// may read or write).
    pub unsafe fn call(nr: usize, [a, b, c]: [usize; 3]) -> isize {
        let ret;
        // SAFETY: the caller vouches for the arguments; the asm names every
        // register the kernel reads or writes, and may touch memory.
        unsafe {
            asm!("svc 0", in("x8") nr, inlateout("x0") a as isize => ret, in("x1") b,
                 in("x2") c, options(nostack));
        }
        ret
    }

    /// `mmap(NULL, len, prot, flags, fd, 0)`.
    ///
    /// # Safety
    /// `fd` is an open descriptor; the kernel picks the address.
    pub unsafe fn mmap(len: usize, prot: usize, flags: usize, fd: usize) -> isize {
        let ret;
        // SAFETY: as for `call`, with six arguments.
        unsafe {
            asm!("svc 0", in("x8") MMAP, inlateout("x0") 0isize => ret, in("x1") len,
                 in("x2") prot, in("x3") flags, in("x4") fd, in("x5") 0usize, options(nostack));
        }
        ret
    }

    pub fn exit_group(status: usize) -> ! {
        // SAFETY: exit_group takes no pointer and does not return.
        unsafe { asm!("svc 0", in("x8") EXIT_GROUP, in("x0") status, options(noreturn, nostack)) }
    }
}
