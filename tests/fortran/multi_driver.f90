!> Test driver: two inputs and two outputs through arrays of cl_tensor.
!> usage: multi_driver MODEL KIND NCOL IN.bin OUT.bin
!> The model maps x(8, ncol), z(3, ncol) to y(8, ncol), w(2, ncol); the files hold
!> x then z, and receive y then w, raw in Fortran order. Also checks the metadata getters.
program multi_driver
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64, error_unit
  use climlearn
  implicit none

  type(cl_model) :: model
  type(cl_tensor) :: inputs(2), outputs(2)
  integer :: kind_, ncol, stat, u
  integer(int64), allocatable :: shp(:)
  character(len=1024) :: path, fin, fout, arg, msg
  real(real32), allocatable, target :: x4(:,:), z4(:,:), y4(:,:), w4(:,:)
  real(real64), allocatable, target :: x8(:,:), z8(:,:), y8(:,:), w8(:,:)

  call get_command_argument(1, path)
  call get_command_argument(2, arg); read (arg, *) kind_
  call get_command_argument(3, arg); read (arg, *) ncol
  call get_command_argument(4, fin)
  call get_command_argument(5, fout)

  call cl_model_load(model, trim(path), stat=stat, errmsg=msg)
  if (stat /= CL_OK) then
    write (error_unit, '(a)') trim(msg)
    error stop 3
  end if
  ! metadata, 1-based, shapes in Fortran order with -1 for the batch
  if (cl_model_num_inputs(model) /= 2 .or. cl_model_num_outputs(model) /= 2) error stop 'counts'
  if (cl_model_input_name(model, 1) /= 'x' .or. cl_model_input_name(model, 2) /= 'z') &
    error stop 'input names'
  if (cl_model_output_name(model, 1) /= 'y' .or. cl_model_output_name(model, 2) /= 'w') &
    error stop 'output names'
  call cl_model_input_shape(model, 2, shp)
  if (size(shp) /= 2 .or. shp(1) /= 3 .or. shp(2) /= -1) error stop 'input shape'
  call cl_model_output_shape(model, 2, shp)
  if (size(shp) /= 2 .or. shp(1) /= 2 .or. shp(2) /= -1) error stop 'output shape'
  if (index(cl_model_card(model), '"schema_version"') == 0) error stop 'card'

  open (newunit=u, file=trim(fin), access='stream', form='unformatted', status='old')
  if (kind_ == 4) then
    allocate (x4(8, ncol), z4(3, ncol), y4(8, ncol), w4(2, ncol))
    read (u) x4, z4
    call cl_tensor_wrap(inputs(1), x4)
    call cl_tensor_wrap(inputs(2), z4)
    call cl_tensor_wrap(outputs(1), y4)
    call cl_tensor_wrap(outputs(2), w4)
  else
    allocate (x8(8, ncol), z8(3, ncol), y8(8, ncol), w8(2, ncol))
    read (u) x8, z8
    call cl_tensor_wrap(inputs(1), x8)
    call cl_tensor_wrap(inputs(2), z8)
    call cl_tensor_wrap(outputs(1), y8)
    call cl_tensor_wrap(outputs(2), w8)
  end if
  close (u)

  call cl_model_forward(model, inputs, outputs, stat=stat, errmsg=msg)
  if (stat /= CL_OK) then
    write (error_unit, '(a)') trim(msg)
    error stop 4
  end if

  open (newunit=u, file=trim(fout), access='stream', form='unformatted', status='replace')
  if (kind_ == 4) then
    write (u) y4, w4
  else
    write (u) y8, w8
  end if
  close (u)
end program multi_driver
