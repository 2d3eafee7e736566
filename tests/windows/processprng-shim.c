/* For running sapk-admin.exe under Wine in tests only; never shipped.
 *
 * Rust's standard library (1.78 and later, for Windows 10 and later) draws its randomness from
 * ProcessPrng in bcryptprimitives.dll, which every Windows 10/11 has and Debian's Wine 8.0 does
 * not. This DLL, placed beside the .exe under Wine, exports ProcessPrng by forwarding to
 * BCryptGenRandom with the system's preferred generator (which Wine has). */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
