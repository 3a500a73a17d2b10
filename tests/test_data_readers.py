"""BVH and ASF/AMC readers against hand-computed forward kinematics on tiny synthetic files."""
import numpy as np
import pytest

from lifter.data.asf_amc import INCH, amc_fk, parse_amc, parse_asf
from lifter.data.bvh import bvh_fk, parse_bvh

# Root with 6 channels (rotation order Z X Y), a joint whose position channels repeat its OFFSET (Bandai quirk),
# a 3-channel joint and an End Site.
BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    JOINT Head
    {
      OFFSET 0 5 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 2 0
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
1 2 3 0 0 0   0 10 0 90 0 0   0 0 0
0 0 0 0 90 0  0 10 0 0 0 0    0 0 0
0 0 0 90 90 0 0 10 0 0 0 0    0 0 0
"""


def test_bvh_fk_matches_hand_computation():
    clip = parse_bvh(BVH)
    assert clip.skeleton.names == ["Hips", "Spine", "Head", "Head_end"]
    assert clip.num_frames == 3 and abs(clip.frame_time - 1 / 30) < 1e-6
    pos = bvh_fk(clip, position_mode="replace")
    # frame 0: Spine turned 90 deg about z, so its child offset (0,5,0) points along -x.
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 12, 3], [-4, 12, 3], [-6, 12, 3]], atol=1e-9)
    # frame 1: root rotated 90 deg about x: +y -> +z.
    np.testing.assert_allclose(pos[1], [[0, 0, 0], [0, 0, 10], [0, 0, 15], [0, 0, 17]], atol=1e-9)
    # frame 2: channels Z then X compose as Rz @ Rx: (0,10,0) -> (0,0,10); the other order would give (-10,0,0).
    np.testing.assert_allclose(pos[2, 1], [0, 0, 10], atol=1e-9)


def test_bvh_position_mode_add_doubles_quirky_offsets_and_select_rows():
    pos = bvh_fk(parse_bvh(BVH), position_mode="add")
    np.testing.assert_allclose(pos[0, 1], [1, 22, 3], atol=1e-9)
    clip = parse_bvh(BVH, select=lambda n, ft: np.array([2, 0]))
    assert clip.source_frames == 3 and list(clip.frame_index) == [2, 0]
    np.testing.assert_allclose(bvh_fk(clip, position_mode="replace")[1, 3], [-6, 12, 3], atol=1e-9)


ASF = """# synthetic
:version 1.10
:name test
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name a
     direction 0 1 0
     length 4.5
     axis 0 0 0 XYZ
    dof rz
  end
  begin
     id 2
     name b
     direction 1 0 0
     length 9
     axis 0 0 90 XYZ
    dof rx
  end
:hierarchy
  begin
    root a
    a b
  end
"""

AMC = """#!OML:ASF test.asf
:FULLY-SPECIFIED
:DEGREES
1
root 0 0 0 0 0 0
a 0
b 0
2
root 4.5 0 0 0 0 0
a 90
b 90
"""


def test_asf_amc_fk_matches_hand_computation():
    skel = parse_asf(ASF)
    assert skel.joint_names == ["root", "a", "b"]
    assert skel.length_unit == pytest.approx(INCH / 0.45)
    motion = parse_amc(AMC, skel)
    assert motion["root"].shape == (2, 6) and motion["b"].shape == (2, 1)
    pos = amc_fk(skel, motion)
    u = INCH / 0.45  # metres per file unit: a is 10 in long, b 20 in
    np.testing.assert_allclose(pos[0], np.array([[0, 0, 0], [0, 4.5, 0], [9, 4.5, 0]]) * u, atol=1e-12)
    # frame 2: root moved +x by a's length; a turned 90 deg about z (+y -> -x) ends back at the origin;
    # b's rx is about its local x axis = world y (axis 0 0 90), so its +x direction turns to -z.
    np.testing.assert_allclose(pos[1], np.array([[4.5, 0, 0], [0, 0, 0], [0, 0, -9]]) * u, atol=1e-12)


def test_amc_with_varying_line_order_uses_slow_path():
    skel = parse_asf(ASF)
    amc = AMC.replace("2\nroot 4.5 0 0 0 0 0\na 90\nb 90", "2\nroot 4.5 0 0 0 0 0\nb 90\na 90")
    np.testing.assert_allclose(amc_fk(skel, parse_amc(amc, skel))[1, 2], np.array([0, 0, -9]) * INCH / 0.45,
                               atol=1e-12)
