/* tests/vmm/guests/start.S: entry points of the test guest.
 *
 * +0x000: 32-bit entry (unused by the VMM): stops.
 * +0x200: 64-bit entry (boot.rst, "64-bit BOOT PROTOCOL"): RSI holds the
 * zero page. The very first instruction writes the VMM's boot-timer port,
 * which the setup-cost benchmark measures to. Then a stack, and C.
 */
	.section .head.text, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
1:	hlt
	jmp 1b

	.org 0x200
	.code64
	.globl startup_64
startup_64:
	movw $0x610, %dx
	outb %al, %dx
	leaq __stack_top(%rip), %rsp
	movq %rsi, %rdi
	call guest_main
	cli
2:	hlt
	jmp 2b

/* An interrupt stub per vector we use: saves the scratch registers, calls irq_handler(vector). */
	.text
	.macro STUB vector
	.globl irq_stub_\vector
irq_stub_\vector:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movl $\vector, %edi
	call irq_handler
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
	.endm
	STUB 0x30
	STUB 0x31

	.section .note.GNU-stack, "", @progbits
