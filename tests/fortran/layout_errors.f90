!> Test driver: bad uses of the layout helpers return a status and a message.
!> usage: layout_errors COLUMN_MODEL [stop]
!> COLUMN_MODEL maps x(13, ncol) (t, q on 6 levels and ps) to y(12, ncol), float32.
!> Prints one line per case: "CASE <name> <stat> | <message>", then "DONE". With "stop",
!> makes one bad call without stat (the program must stop with the message).
program layout_errors
  use, intrinsic :: iso_fortran_env, only: real32, real64, output_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_value, ieee_quiet_nan
  use climlearn
  implicit none

  integer, parameter :: klon = 10, klev = 6
  type(cl_model) :: model, unloaded
  type(cl_layout) :: lay, masked, masked3
  type(cl_tensor) :: undescribed
  character(len=1024) :: path, mode, msg
  integer :: stat
  real(real32), target :: t(klon, klev), q(klon, klev), ps(klon), dt(klon, klev), &
                          dq(klon, klev), q12(12, klev), t5(klon, 5), tt(2 * klon, klev)
  real(real32), target :: o3(4, 3, 6), o3b(4, 3, 5), o3c(5, 3, 6), s2(4, 3)
  logical :: bad7(7), bad10(klon), mask2(4, 3), mask3(4, 3, 6)
  type(cl_tensor), allocatable :: none(:)

  call get_command_argument(1, path)
  call get_command_argument(2, mode)
  t = 280.0
  q = 0.01
  ps = 1.0e5
  tt = 1.0
  q12 = 0.01
  t5 = 280.0
  o3 = 1.0
  o3b = 1.0
  o3c = 1.0
  s2 = 1.0
  mask2 = .true.
  mask3 = .true.
  allocate (none(0))

  call cl_model_load(model, trim(path), stat=stat, errmsg=msg)
  call report('load')
  if (mode == 'stop') then
    call cl_layout_forward(lay, model, [cl_field(t), cl_field(q)], [cl_field(dt), cl_field(dq)])
    write (output_unit, '(a)') 'NOT REACHED'
  end if

  call cl_layout_forward(lay, unloaded, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('not_loaded')
  call cl_layout_forward(lay, model, none, [cl_field(dt)], stat=stat, errmsg=msg)
  call report('no_inputs')
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q12), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('column_count')
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('input_features')
  call cl_layout_forward(lay, model, [cl_field(t5), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('input_features_levels')
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(ps)], stat=stat, errmsg=msg)
  call report('output_features')
  call cl_layout_forward(lay, model, [cl_field(tt(1:2 * klon:2, :)), cl_field(q), &
                         cl_field(ps)], [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('not_contiguous')
  call cl_layout_forward(lay, model, [cl_field(t), undescribed, cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('undescribed')
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], valid_min=[0d0, 1d0, 2d0], &
                         stat=stat, errmsg=msg)
  call report('valid_min_size')
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], bad=bad7, stat=stat, errmsg=msg)
  call report('bad_shape')
  call cl_layout_init(lay, chunk=-1, stat=stat, errmsg=msg)
  call report('chunk_negative')

  ! masked layouts: fields must start with the mask's shape
  call cl_layout_init(masked, mask2, stat=stat, errmsg=msg)
  call report('init_mask2')
  call cl_layout_forward(masked, model, [cl_field(o3c), cl_field(o3c), cl_field(s2)], &
                         [cl_field(o3), cl_field(o3)], stat=stat, errmsg=msg)
  call report('mask_shape')
  call cl_layout_forward(masked, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('mask_rank')
  call cl_layout_init(masked3, mask3, stat=stat, errmsg=msg)
  call report('init_mask3')
  call cl_layout_forward(masked3, model, [cl_field(o3), cl_field(o3), cl_field(s2)], &
                         [cl_field(o3c(1:4, :, 1:1)), cl_field(o3b)], stat=stat, errmsg=msg)
  call report('output_not_contiguous')
  call cl_layout_forward(masked3, model, [cl_field(o3), cl_field(o3), cl_field(s2)], &
                         [cl_field(o3b), cl_field(o3)], stat=stat, errmsg=msg)
  call report('mask3_output_levels')

  ! an error of the model itself, then the host goes on
  call cl_model_set_check_finite(model, .true.)
  q(4, 2) = ieee_value(q(4, 2), ieee_quiet_nan)
  call cl_layout_init(lay, chunk=3)
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], stat=stat, errmsg=msg)
  call report('model_error')
  q(4, 2) = 0.01
  call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                         [cl_field(dt), cl_field(dq)], bad=bad10, stat=stat, errmsg=msg)
  call report('retry_ok')
  write (output_unit, '(a)') 'DONE'

contains

  subroutine report(name)
    character(len=*), intent(in) :: name
    if (stat == CL_OK) msg = ''
    write (output_unit, '(a, 1x, a, 1x, i0, a, a)') 'CASE', name, stat, ' | ', trim(msg)
    msg = ''
  end subroutine report
end program layout_errors
