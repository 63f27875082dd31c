"""Test set-up: fake 4 CPU devices (before JAX starts) so sharded code paths run everywhere."""

import os
import sys

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=4').strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def pytest_configure(config):
  config.addinivalue_line('markers', 'slow: minutes-long; skipped by default (run with -m slow)')
