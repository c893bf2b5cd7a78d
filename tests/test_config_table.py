"""README.md's config-group table is the one scripts/config_table.py generates from conf/."""
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "config_table.py"


def check(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--repo", str(repo)], capture_output=True, text=True,
                          timeout=60)


def test_readme_config_table_matches_conf():
    result = check(REPO)
    assert result.returncode == 0, result.stderr


def test_a_new_option_in_conf_makes_the_check_fail_naming_its_group_until_the_table_is_regenerated(tmp_path):
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    (tmp_path / "conf" / "model" / "my_gan.yaml").write_text("_target_: my_gan.MyGAN\n")
    result = check(tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == ("README.md's config-group table differs from conf/ in `model`: run python "
                                     "scripts/config_table.py")
    subprocess.run([sys.executable, str(SCRIPT), "--repo", str(tmp_path)], check=True, timeout=60)
    assert check(tmp_path).returncode == 0
    assert "`mlp_gan`, `my_gan`, `rnn_lm`" in (tmp_path / "README.md").read_text()
