!> Test driver: every bad input returns a status and a message, and the host goes on.
!> usage: bad_inputs GOOD_MODEL(8->8 float32) TEXT_FILE TRUNCATED_FILE MISSING_PATH
!> Prints one line per case: "CASE <name> <stat> | <message>", then "DONE".
program bad_inputs
  use, intrinsic :: iso_fortran_env, only: real32, real64, output_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_quiet_nan, ieee_positive_inf
  use climlearn
  implicit none

  type(cl_model) :: good, bad
  type(cl_tensor) :: two(2), one(1)
  character(len=1024) :: good_path, text_path, trunc_path, missing_path
  character(len=1024) :: msg
  integer :: stat
  real(real32), target :: x(8, 5), y(8, 5), x3(8, 5, 2), y3(8, 5, 2), x7(7, 5), y7(7, 5), y2(8, 5)
  real(real64), target :: xd(8, 5), yd(8, 5)

  call get_command_argument(1, good_path)
  call get_command_argument(2, text_path)
  call get_command_argument(3, trunc_path)
  call get_command_argument(4, missing_path)
  call random_number(x)
  x3 = 1.0
  x7 = 1.0
  xd = 1.0d0

  call cl_model_load(bad, trim(missing_path), stat=stat, errmsg=msg)
  call report('missing_file')
  call cl_model_load(bad, trim(text_path), stat=stat, errmsg=msg)
  call report('not_a_model')
  call cl_model_load(bad, trim(trunc_path), stat=stat, errmsg=msg)
  call report('truncated')
  call cl_model_load(bad, trim(good_path), device='cuda:0', stat=stat, errmsg=msg)
  call report('cuda_unavailable')
  call cl_model_load(bad, trim(good_path), device='tpu', stat=stat, errmsg=msg)
  call report('bad_device')
  call cl_model_forward(bad, x, y, stat=stat, errmsg=msg)
  call report('forward_unloaded')

  call cl_model_load(good, trim(good_path), stat=stat, errmsg=msg)
  call report('load_good')

  call cl_tensor_wrap(two(1), x)
  call cl_tensor_wrap(two(2), x)
  call cl_tensor_wrap(one(1), y)
  call cl_model_forward(good, two, one, stat=stat, errmsg=msg)
  call report('too_many_inputs')
  call cl_tensor_wrap(one(1), x)
  call cl_tensor_wrap(two(1), y)
  call cl_tensor_wrap(two(2), y2)
  call cl_model_forward(good, one, two, stat=stat, errmsg=msg)
  call report('too_many_outputs')
  call cl_model_forward(good, x3, y3, stat=stat, errmsg=msg)
  call report('wrong_rank')
  call cl_model_forward(good, x7, y, stat=stat, errmsg=msg)
  call report('wrong_feature_size')
  call cl_model_forward(good, x, y7, stat=stat, errmsg=msg)
  call report('wrong_output_shape')
  call cl_model_forward(good, xd, yd, stat=stat, errmsg=msg)
  call report('wrong_dtype')

  ! NaN passes through when the check is off (default) ...
  x(3, 4) = ieee_value(x(3, 4), ieee_quiet_nan)
  call cl_model_forward(good, x, y, stat=stat, errmsg=msg)
  call report('nan_unchecked')
  ! ... and is refused when it is on
  call cl_model_set_check_finite(good, .true.)
  call cl_model_forward(good, x, y, stat=stat, errmsg=msg)
  call report('nan_checked')
  x(3, 4) = ieee_value(x(3, 4), ieee_positive_inf)
  call cl_model_forward(good, x, y, stat=stat, errmsg=msg)
  call report('inf_checked')

  ! the host can retry after errors
  x(3, 4) = 0.5
  call cl_model_forward(good, x, y, stat=stat, errmsg=msg)
  call report('retry_ok')
  call cl_model_free(good)
  call cl_model_forward(good, x, y, stat=stat, errmsg=msg)
  call report('forward_after_free')
  write (output_unit, '(a)') 'DONE'

contains

  subroutine report(name)
    character(len=*), intent(in) :: name
    if (stat == CL_OK) msg = ''
    write (output_unit, '(a, 1x, a, 1x, i0, a, a)') 'CASE', name, stat, ' | ', trim(msg)
    msg = ''
  end subroutine report
end program bad_inputs
