{
  "targets": [
    {
      "target_name": "systemd_daemon",
      "sources": ["ffi/binding.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "2",
        "WARNING_CFLAGS": ["-Wall", "-Wextra"]
      }
    }
  ]
}
