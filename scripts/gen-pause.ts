// Assembles the sandbox ("pause") program from the instruction bytes below and writes
// embedded/pause/pause-amd64.json. No compiler or assembler is involved: every instruction is
// written out as its x86-64 encoding next to its mnemonic, so the whole binary can be audited here.
//
// What the program does: it blocks SIGINT, SIGTERM and SIGCHLD, then waits for them with
// rt_sigtimedwait in a loop. SIGCHLD reaps every exited child (it is PID 1 of the pod when
// shareProcessNamespace is on); SIGINT/SIGTERM exit 0 at once. Waiting on blocked signals
// instead of installing handlers matters for PID 1: the kernel drops default-action signals sent
// to a namespace's init, but a blocked signal stays pending, so `docker stop` is answered at once
// instead of after the grace period. No handler also means no signal frame and no sa_restorer.
//
// Run: node --import tsx scripts/gen-pause.ts   (or import assemblePause() to compare)
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Item = { label: string } | { asm: string; bytes: number[] } | { asm: string; jump: number; to: string };

// Signal bit n-1 for signal n: SIGINT=2, SIGTERM=15, SIGCHLD=17.
const SIGNAL_MASK = (1 << (2 - 1)) | (1 << (15 - 1)) | (1 << (17 - 1));
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

const program: Item[] = [
  // The signal set lives on the stack: 8 bytes, the kernel's sigset_t size on x86-64.
  { asm: `mov eax, 0x${SIGNAL_MASK.toString(16)}`, bytes: [0xb8, ...le32(SIGNAL_MASK)] },
  { asm: 'push rax', bytes: [0x50] },
  // rt_sigprocmask(SIG_BLOCK, set, NULL, 8)
  { asm: 'xor edi, edi            ; SIG_BLOCK = 0', bytes: [0x31, 0xff] },
  { asm: 'mov rsi, rsp            ; set', bytes: [0x48, 0x89, 0xe6] },
  { asm: 'xor edx, edx            ; oldset = NULL', bytes: [0x31, 0xd2] },
  { asm: 'mov r10d, 8             ; sigsetsize', bytes: [0x41, 0xba, ...le32(8)] },
  { asm: 'mov eax, 14             ; SYS_rt_sigprocmask', bytes: [0xb8, ...le32(14)] },
  { asm: 'syscall', bytes: [0x0f, 0x05] },
  { label: 'wait' },
  // rt_sigtimedwait(set, NULL, NULL, 8): returns the signal number, or -errno.
  { asm: 'mov rdi, rsp            ; set', bytes: [0x48, 0x89, 0xe7] },
  { asm: 'xor esi, esi            ; info = NULL', bytes: [0x31, 0xf6] },
  { asm: 'xor edx, edx            ; timeout = NULL (forever)', bytes: [0x31, 0xd2] },
  { asm: 'mov r10d, 8             ; sigsetsize', bytes: [0x41, 0xba, ...le32(8)] },
  { asm: 'mov eax, 128            ; SYS_rt_sigtimedwait', bytes: [0xb8, ...le32(128)] },
  { asm: 'syscall', bytes: [0x0f, 0x05] },
  { asm: 'cmp eax, 17             ; SIGCHLD?', bytes: [0x83, 0xf8, 0x11] },
  { asm: 'je reap', jump: 0x74, to: 'reap' },
  { asm: 'test eax, eax', bytes: [0x85, 0xc0] },
  { asm: 'js wait                 ; -EINTR and friends: wait again', jump: 0x78, to: 'wait' },
  // SIGINT or SIGTERM: exit_group(0)
  { asm: 'xor edi, edi            ; status 0', bytes: [0x31, 0xff] },
  { asm: 'mov eax, 231            ; SYS_exit_group', bytes: [0xb8, ...le32(231)] },
  { asm: 'syscall', bytes: [0x0f, 0x05] },
  { label: 'reap' },
  // wait4(-1, NULL, WNOHANG, NULL) until no exited child is left (returns 0 or -ECHILD).
  { asm: 'mov edi, -1             ; any child', bytes: [0xbf, 0xff, 0xff, 0xff, 0xff] },
  { asm: 'xor esi, esi            ; wstatus = NULL', bytes: [0x31, 0xf6] },
  { asm: 'mov edx, 1              ; WNOHANG', bytes: [0xba, ...le32(1)] },
  { asm: 'xor r10d, r10d          ; rusage = NULL', bytes: [0x45, 0x31, 0xd2] },
  { asm: 'mov eax, 61             ; SYS_wait4', bytes: [0xb8, ...le32(61)] },
  { asm: 'syscall', bytes: [0x0f, 0x05] },
  { asm: 'test eax, eax', bytes: [0x85, 0xc0] },
  { asm: 'jg reap                 ; reaped one: try for another', jump: 0x7f, to: 'reap' },
  { asm: 'jmp wait', jump: 0xeb, to: 'wait' },
];

/** Encodes the program: two passes, since every jump is a 2-byte short jump (opcode, rel8). */
export function assembleCode(items: Item[] = program): Buffer {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const item of items) {
    if ('label' in item) labels.set(item.label, pc);
    else pc += 'jump' in item ? 2 : item.bytes.length;
  }
  const out: number[] = [];
  for (const item of items) {
    if ('label' in item) continue;
    if ('bytes' in item) {
      out.push(...item.bytes);
      continue;
    }
    const target = labels.get(item.to);
    if (target === undefined) throw new Error(`unknown label ${item.to}`);
    const rel = target - (out.length + 2);
    if (rel < -128 || rel > 127) throw new Error(`jump to ${item.to} out of rel8 range`);
    out.push(item.jump, rel & 0xff);
  }
  return Buffer.from(out);
}

const BASE = 0x400000; // load address, the traditional one for static x86-64 executables
const EHDR = 64; // ELF64 header size
const PHDR = 56; // ELF64 program header size
const PHNUM = 2; // PT_LOAD for everything, PT_GNU_STACK to ask for a non-executable stack

/** The complete static ELF executable: header, program headers, code. */
export function assemblePause(): Buffer {
  const code = assembleCode();
  const codeOffset = EHDR + PHDR * PHNUM;
  const size = codeOffset + code.length;
  const elf = Buffer.alloc(size);
  // e_ident: magic, ELFCLASS64, little endian, version 1, System V ABI; rest zero.
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0);
  elf.writeUInt16LE(2, 16); // e_type = ET_EXEC
  elf.writeUInt16LE(0x3e, 18); // e_machine = EM_X86_64
  elf.writeUInt32LE(1, 20); // e_version
  elf.writeBigUInt64LE(BigInt(BASE + codeOffset), 24); // e_entry
  elf.writeBigUInt64LE(BigInt(EHDR), 32); // e_phoff
  elf.writeBigUInt64LE(0n, 40); // e_shoff: no section headers
  elf.writeUInt32LE(0, 48); // e_flags
  elf.writeUInt16LE(EHDR, 52); // e_ehsize
  elf.writeUInt16LE(PHDR, 54); // e_phentsize
  elf.writeUInt16LE(PHNUM, 56); // e_phnum
  elf.writeUInt16LE(64, 58); // e_shentsize (unused, conventional value)
  elf.writeUInt16LE(0, 60); // e_shnum
  elf.writeUInt16LE(0, 62); // e_shstrndx
  // PT_LOAD: map the whole file read+execute at BASE.
  let ph = EHDR;
  elf.writeUInt32LE(1, ph); // p_type = PT_LOAD
  elf.writeUInt32LE(5, ph + 4); // p_flags = R | X
  elf.writeBigUInt64LE(0n, ph + 8); // p_offset
  elf.writeBigUInt64LE(BigInt(BASE), ph + 16); // p_vaddr
  elf.writeBigUInt64LE(BigInt(BASE), ph + 24); // p_paddr
  elf.writeBigUInt64LE(BigInt(size), ph + 32); // p_filesz
  elf.writeBigUInt64LE(BigInt(size), ph + 40); // p_memsz
  elf.writeBigUInt64LE(0x1000n, ph + 48); // p_align
  // PT_GNU_STACK: without it old kernels give the process READ_IMPLIES_EXEC.
  ph += PHDR;
  elf.writeUInt32LE(0x6474e551, ph); // p_type = PT_GNU_STACK
  elf.writeUInt32LE(6, ph + 4); // p_flags = R | W
  elf.writeBigUInt64LE(0x10n, ph + 48); // p_align
  code.copy(elf, codeOffset);
  return elf;
}

export interface EmbeddedBinary {
  arch: string;
  size: number;
  sha256: string;
  base64: string;
  generatedBy: string;
}

export function pauseJson(): EmbeddedBinary {
  const bin = assemblePause();
  return {
    arch: 'amd64',
    size: bin.length,
    sha256: createHash('sha256').update(bin).digest('hex'),
    base64: bin.toString('base64'),
    generatedBy: 'scripts/gen-pause.ts',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL('../embedded/pause/pause-amd64.json', import.meta.url);
  const json = pauseJson();
  writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  console.log(`wrote ${fileURLToPath(out)}: ${json.size} bytes, sha256 ${json.sha256}`);
}
